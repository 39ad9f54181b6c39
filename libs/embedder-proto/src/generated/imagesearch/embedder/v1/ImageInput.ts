// Original file: proto/embedder.proto


export interface ImageInput {
  /**
   * The encoded image file, as stored on disk.
   */
  'data'?: (Buffer | Uint8Array | string);
  /**
   * Optional caller-side id, echoed back in errors and logs only.
   */
  'id'?: (string);
}

export interface ImageInput__Output {
  /**
   * The encoded image file, as stored on disk.
   */
  'data': (Buffer);
  /**
   * Optional caller-side id, echoed back in errors and logs only.
   */
  'id': (string);
}
