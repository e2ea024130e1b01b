import { Global, Module } from '@nestjs/common';
import { EventStreamModule } from '../event-stream/event-stream.module';
import { OutboxReplayService } from './outbox-replay.service';
import { OutboxHealth } from './outbox.health';
import { OutboxPublisher } from './outbox.publisher';
import { OutboxRelay } from './outbox.relay';
import { OutboxStore } from './outbox.store';
import { OutboxWriter } from './outbox.writer';

/** The writer for every role; the relay (LISTEN + poll, publish, prune) runs only in the worker role. */
@Global()
@Module({
  imports: [EventStreamModule],
  providers: [OutboxWriter, OutboxStore, OutboxPublisher, OutboxRelay, OutboxHealth, OutboxReplayService],
  exports: [OutboxWriter, OutboxStore, OutboxReplayService],
})
export class OutboxModule {}
