import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { createDataSource } from './data-source';
import { ReadReplicas } from './read-replicas';

@Global()
@Module({
  providers: [
    {
      provide: DataSource,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => createDataSource(config, `aop-${config.role}`).initialize(),
    },
    {
      provide: ReadReplicas,
      inject: [DataSource, APP_CONFIG],
      useFactory: (dataSource: DataSource, config: AppConfig) => new ReadReplicas(dataSource, config),
    },
  ],
  exports: [DataSource, ReadReplicas],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ReadReplicas) private readonly replicas: ReadReplicas,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.replicas.close();
    if (this.dataSource.isInitialized) {
      await this.dataSource.destroy();
    }
  }
}
