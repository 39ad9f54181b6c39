import { describe, expect, it } from 'vitest';
import { ITEM_ERROR_REASONS, itemMessage, sanitizeDetail } from './item-errors.js';

describe('item error messages', () => {
  it('are the reason, its sentence, our specifics and one line of decoder text', () => {
    expect(itemMessage('CORRUPT_IMAGE', 'jpeg', 'VipsJpeg: premature end\nline two')).toBe(
      'CORRUPT_IMAGE: the image data is damaged or truncated (jpeg): VipsJpeg: premature end',
    );
    expect(itemMessage('NOT_AN_IMAGE')).toBe('NOT_AN_IMAGE: the file is not an image');
  });

  it('never carry a path, control characters or libvips noise', () => {
    expect(sanitizeDetail('/srv/photos/private/a.heic: bad seek to 1923')).toBe('<file>: bad seek to 1923');
    expect(sanitizeDetail('C:\\Users\\me\\x.jpg is broken')).toBe('<file> is broken');
    expect(sanitizeDetail('\n\n  Unknown error  \n')).toBeUndefined();
    expect(sanitizeDetail('a\u0007b')).toBe('a b');
    expect(sanitizeDetail('x'.repeat(500))!.length).toBe(160);
  });

  it('lists DECODE_TIMEOUT among the reasons', () => {
    expect(ITEM_ERROR_REASONS).toContain('DECODE_TIMEOUT');
  });
});
