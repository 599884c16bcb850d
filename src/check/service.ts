// Placeholder until the checker runtime lands: same signature as the real one.
import type { StartService } from '../daemon/service.js';

export const startCheckerService: StartService = async () => {
  throw new Error('the checker service is not implemented yet');
};
