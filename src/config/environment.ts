import { config as loadDotenv } from 'dotenv';
import { AppConfig, loadConfig } from './config';

/** Reads `.env` when present (real environment variables win), then validates. */
export function loadConfigFromEnvironment(): AppConfig {
  loadDotenv({ quiet: true });
  return loadConfig(process.env);
}
