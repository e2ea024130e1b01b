import { AppConfig } from './config';

export const servesHttp = (config: Pick<AppConfig, 'role'>): boolean => config.role !== 'worker';
export const runsWorkers = (config: Pick<AppConfig, 'role'>): boolean => config.role !== 'api';
