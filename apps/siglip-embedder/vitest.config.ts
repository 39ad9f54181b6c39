import { projectTestConfig } from '../../vitest.shared';

export default projectTestConfig('siglip-embedder');
