import { projectTestConfig } from '../../vitest.shared';

export default projectTestConfig('api-keys');
