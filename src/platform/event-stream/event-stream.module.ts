import { Module } from '@nestjs/common';
import { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { EVENT_SINKS } from './event-sink';
import { EventSinkStore } from './event-sink.store';
import { eventSinksFor } from './event-sinks';
import { EventStreamHealth } from './event-stream.health';
import { EventStreamPublisher } from './event-stream.publisher';

/** Domain events to external brokers (docs/events.md): the sinks, their publisher, its health. */
@Module({
  providers: [
    EventSinkStore,
    { provide: EVENT_SINKS, useFactory: (config: AppConfig) => eventSinksFor(config), inject: [APP_CONFIG] },
    EventStreamPublisher,
    EventStreamHealth,
  ],
  exports: [EventSinkStore],
})
export class EventStreamModule {}
