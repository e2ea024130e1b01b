import { Module } from '@nestjs/common';
import { DeadLettersController } from './dead-letters.controller';
import { OutboxAdminController } from './outbox-admin.controller';
import { QueueBoard } from './queue-board';
import { QueueBoardSessionController } from './queue-board-session.controller';
import { QueueBoardSessions } from './queue-board.sessions';

/** Operator endpoints for the pipeline: dead letters, outbox replay, Bull Board. */
@Module({
  controllers: [DeadLettersController, OutboxAdminController, QueueBoardSessionController],
  providers: [QueueBoard, QueueBoardSessions],
})
export class AdminModule {}
