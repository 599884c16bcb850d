// Placeholder until the VRRP runtime lands: same signature as the real one.
import type { StartService } from '../daemon/service.js';

export const startVrrpService: StartService = async () => {
  throw new Error('the VRRP service is not implemented yet');
};
