import { Module } from '@nestjs/common';
import { ConsoleAssets } from './console-assets';

/** The operator console's pages at /console; its data comes from the API's own endpoints. */
@Module({ providers: [ConsoleAssets] })
export class ConsoleModule {}
