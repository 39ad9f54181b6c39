import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * Security headers on every response (helmet). The page loads only its own script and stylesheet
 * (no inline code: public/ has none), so the CSP allows 'self' and nothing else; thumbnails fetched
 * with an API key are shown as blob: URLs. No framing anywhere (frame-ancestors 'none' and
 * X-Frame-Options DENY), no Referer leaking asset URLs, nosniff. No upgrade-insecure-requests: the
 * gateway serves plain HTTP on loopback and TLS ends at the ingress, which may add HSTS.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'blob:'],
        'connect-src': ["'self'"],
        'font-src': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'self'"],
        'frame-ancestors': ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: false },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
}

/** The CSP of served image bytes: even if a browser rendered one as a document, nothing in it could run. */
export const IMAGE_CSP = "default-src 'none'; sandbox";

/** Raster types a browser shows as an image and never runs as a document. */
const RASTER = new Set([
  'image/jpeg',
  'image/png',
  'image/webp',
  'image/gif',
  'image/avif',
  'image/heif',
  'image/heic',
  'image/tiff',
  'image/bmp',
  'image/x-icon',
  'image/vnd.microsoft.icon',
]);

/**
 * The Content-Type an original may be served with: a raster image type as given, anything else
 * (text/html, image/svg+xml, XML, unknown) as application/octet-stream, so an HTML or SVG file
 * can never be rendered from our origin whatever was stored or sniffed.
 */
export function servableImageType(mime: string): string {
  const m = mime.split(';')[0]!.trim().toLowerCase();
  return RASTER.has(m) ? m : 'application/octet-stream';
}
