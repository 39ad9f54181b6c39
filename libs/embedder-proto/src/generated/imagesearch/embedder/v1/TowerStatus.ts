// Original file: proto/embedder.proto

import type { Long } from '@grpc/proto-loader';

export interface TowerStatus {
  /**
   * "image" or "text"
   */
  'tower'?: (string);
  /**
   * "loaded", "unloaded" or "loading"
   */
  'state'?: (string);
  /**
   * when it last ran a job; 0 = not since the start
   */
  'lastUsedUnixMs'?: (number | string | Long);
}

export interface TowerStatus__Output {
  /**
   * "image" or "text"
   */
  'tower': (string);
  /**
   * "loaded", "unloaded" or "loading"
   */
  'state': (string);
  /**
   * when it last ran a job; 0 = not since the start
   */
  'lastUsedUnixMs': (string);
}
