import { AppConfig } from '../../config/config';
import { EventSink } from './event-sink';
import { NatsEventSink } from './nats.event-sink';

/** The sinks this configuration turns on (none when EVENT_STREAM_URL is unset); a Kafka sink joins here. */
export function eventSinksFor(config: AppConfig): EventSink[] {
  const { url, streamName, subjectPrefix, duplicateWindowSeconds } = config.eventStream;
  return url
    ? [
        new NatsEventSink({
          url,
          streamName,
          subjectPrefix,
          duplicateWindowSeconds,
          timeoutMs: config.outbox.publishTimeoutMs,
        }),
      ]
    : [];
}

/** The names the outbox relay marks each claimed event for: the same list, without connecting anything. */
export function eventSinkNamesFor(config: AppConfig): string[] {
  return config.eventStream.url ? ['nats'] : [];
}
