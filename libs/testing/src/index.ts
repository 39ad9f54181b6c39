export { testEnv } from './env.js';
export { uniqueName, testRedis, deleteKeys, startRedisServer, redisServerAvailable } from './redis.js';
export { freePort, waitFor } from './ports.js';
export { fixturesAvailable, fixturePath, announceFixtureSkip } from './fixtures.js';
export { startNodeProcess, startTsProcess, REPO_ROOT, type TestProcess } from './process.js';
export { httpGet, grpcHealthCheck } from './serve.js';
export { tinyModelDir } from './models.js';
export { childEnv } from './child-env.js';
export { startEmbedderProcess, type RunningEmbedder } from './embedder-process.js';
export {
  chromiumAvailable,
  CHROMIUM_INSTALL,
  waitForLoadedImages,
  thumbnailPaint,
  type ThumbnailPaint,
} from './chromium.js';
export { startStack, stackPids, stackReady, servicePid, tearDownStackRun, type Stack } from './start-stack.js';
export {
  QUAD,
  quadPixels,
  writeBmp,
  writeIco,
  tiffWithTags,
  garbageJpeg,
  corners,
  heicFixture,
} from './format-images.js';
export { manyScanJpeg } from './many-scan-jpeg.js';
export { largePhoto, mosaicPhoto, type LargePhotoOptions } from './large-photos.js';
