import { MigrationInterface } from 'typeorm';
import { InitialSchema1732300000000 } from './migrations/1732300000000-InitialSchema';
import { OutboxReplayAndDeadLetterKeys1732300300000 } from './migrations/1732300300000-OutboxReplayAndDeadLetterKeys';
import { UserTokenVersion1732300400000 } from './migrations/1732300400000-UserTokenVersion';
import { MockGatewayLedger1733000000000 } from './migrations/1733000000000-MockGatewayLedger';
import { DeadLetterResolved1733100000000 } from './migrations/1733100000000-DeadLetterResolved';
import { Webhooks1733300000000 } from './migrations/1733300000000-Webhooks';
import { RetentionIndexes1733200000000 } from './migrations/1733200000000-RetentionIndexes';
import { HotTableAutovacuum1733200100000 } from './migrations/1733200100000-HotTableAutovacuum';
import { OutboxTraceContext1733400000000 } from './migrations/1733400000000-OutboxTraceContext';
import { OutboxSinkMarks1733970000000 } from './migrations/1733970000000-OutboxSinkMarks';

/** Every migration, oldest first. `npm run db:migration:create -- Name` adds a file to migrations/. */
export const MIGRATIONS: (new () => MigrationInterface)[] = [
  InitialSchema1732300000000,
  OutboxReplayAndDeadLetterKeys1732300300000,
  UserTokenVersion1732300400000,
  MockGatewayLedger1733000000000,
  DeadLetterResolved1733100000000,
  Webhooks1733300000000,
  RetentionIndexes1733200000000,
  HotTableAutovacuum1733200100000,
  OutboxTraceContext1733400000000,
  OutboxSinkMarks1733970000000,
];
