import { PermanentJobError } from '../queue/job-errors';
import { DomainEventPayloads, DomainEventType, EVENT_SCHEMA_VERSIONS } from './domain-events';

/** Lifts a payload of version `n` to version `n + 1`. */
export type Upcaster = (payload: Record<string, unknown>) => Record<string, unknown>;

/** Per event type, the upcaster from each old version: `{ OrderCreated: { 1: (v1) => v2 } }`. */
export type UpcasterTable = { [T in DomainEventType]?: Record<number, Upcaster> };

/**
 * The upcasters of the real events. When a payload shape changes: bump its version in
 * EVENT_SCHEMA_VERSIONS, update the type in domain-events.ts and add the old version's upcaster here,
 * so rows written (or jobs enqueued) by an older release are still understood.
 */
export const UPCASTERS: UpcasterTable = {};

export class UnknownEventVersionError extends PermanentJobError {
  constructor(message: string) {
    super(message, 'UNKNOWN_EVENT_VERSION');
  }
}

export interface UpcastEvent<T extends DomainEventType = DomainEventType> {
  schemaVersion: number;
  payload: DomainEventPayloads[T];
}

export type UpcastFn = <T extends DomainEventType>(
  eventType: T,
  version: number,
  payload: unknown,
) => UpcastEvent<T>;

/** Builds `upcast` over a table and the current versions (tests pass their own). */
export function createUpcaster(
  table: UpcasterTable,
  currentVersions: Record<string, number> = EVENT_SCHEMA_VERSIONS,
): UpcastFn {
  return <T extends DomainEventType>(eventType: T, version: number, payload: unknown): UpcastEvent<T> => {
    const current = currentVersions[eventType];
    if (current === undefined) {
      throw new UnknownEventVersionError(`Unknown event type "${eventType}"`);
    }
    if (version > current) {
      // Written by a newer release: this one cannot know what the fields mean.
      throw new UnknownEventVersionError(
        `${eventType} v${version} is newer than this release understands (v${current})`,
      );
    }
    let lifted = payload as Record<string, unknown>;
    for (let v = version; v < current; v++) {
      const step = table[eventType]?.[v];
      if (!step) {
        throw new UnknownEventVersionError(`No upcaster for ${eventType} from v${v} to v${v + 1}`);
      }
      lifted = step(lifted);
    }
    return { schemaVersion: current, payload: lifted as unknown as DomainEventPayloads[T] };
  };
}

/** Lifts an event of any known version to the current shape of domain-events.ts. */
export const upcast: UpcastFn = createUpcaster(UPCASTERS);
