import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { runsWorkers } from '../../config/roles';
import { runWithContext } from '../../platform/http/request-context';
import { MetricsService } from '../../platform/metrics/metrics.service';
import { OutboxWriter } from '../../platform/outbox/outbox.writer';
import { DeadLetterStore } from '../../platform/queue/dead-letter.store';
import { QUEUES } from '../../platform/queue/queue-names';
import { PeriodicTask } from '../../platform/scheduling/periodic-task';
import { NotificationsService } from '../notifications/notifications.service';
import { PaymentsService } from '../payments/payments.service';
import { SagaRepository } from './saga.repository';
import { SagaRunner } from './saga.runner';

const BATCH = 50;
/**
 * The queues whose jobs only drive a saga: once the saga has finished, a job of theirs that died of a
 * stall or of transient failures is moot. A permanent failure names a defect and stays open.
 */
const SAGA_QUEUES = [QUEUES.orderProcessing, QUEUES.paymentProcessing, QUEUES.inventoryManagement];
/** A QUEUED notification gets this many stall windows (its retries back off) before it is asked for again. */
const NOTIFICATION_STALL_FACTOR = 5;

/**
 * Worker role: finds sagas that stopped moving (a worker killed mid-flight, a lost job, a webhook that
 * never came) and resumes them; cancels, with reason TIMEOUT, those still unfinished after
 * SAGA_TIMEOUT_SECONDS; asks again for notifications whose job was lost; resolves the dead letters of
 * saga jobs that stalled out or ran out of attempts once recovery has finished their orders, and of
 * notification jobs that stalled out once their notification was sent.
 * Several workers may run it: claims use SKIP LOCKED.
 */
@Injectable()
export class SagaRecoveryScheduler implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SagaRecoveryScheduler.name);
  private readonly stuck: Gauge;
  private readonly task: PeriodicTask;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sagas: SagaRepository,
    private readonly runner: SagaRunner,
    private readonly payments: PaymentsService,
    private readonly outbox: OutboxWriter,
    private readonly notifications: NotificationsService,
    private readonly deadLetters: DeadLetterStore,
    @InjectConfig() private readonly config: AppConfig,
    metrics: MetricsService,
  ) {
    this.stuck = new Gauge({
      name: 'aop_sagas_stuck',
      help: 'Sagas found without progress for SAGA_STALL_SECONDS in the last recovery pass',
      registers: [metrics.registry],
    });
    this.task = new PeriodicTask({
      name: 'saga recovery pass',
      intervalMs: config.saga.recoveryIntervalMs,
      run: () => this.recoverNow(),
      logger: this.logger,
    });
  }

  onApplicationBootstrap(): void {
    if (runsWorkers(this.config)) {
      this.task.start();
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.task.stop();
  }

  /** One recovery pass; returns what it did. */
  async recoverNow(): Promise<{
    resumed: number;
    timedOut: number;
    notificationsRequeued: number;
    deadLettersResolved: number;
  }> {
    const timedOut = await this.dataSource.transaction(async (tx) => {
      const orderIds = await this.sagas.findTimedOut(tx, this.config.saga.timeoutSeconds, BATCH);
      for (const orderId of orderIds) {
        await this.runner.requestCompensation(tx, orderId, 'TIMEOUT');
        await this.outbox.append(tx, {
          type: 'OrderCancellationRequested',
          aggregateType: 'order',
          aggregateId: orderId,
          payload: { orderId, reason: 'TIMEOUT' },
        });
      }
      return orderIds;
    });
    // A notification job lost with Redis's data is asked for again (delivery is idempotent).
    const requeued = await this.notifications.requeueStale(
      this.config.saga.stallSeconds * NOTIFICATION_STALL_FACTOR,
      BATCH,
    );
    const stalled = await this.dataSource.transaction((tx) =>
      this.sagas.claimStalled(tx, this.config.saga.stallSeconds, BATCH),
    );
    this.stuck.set(stalled.length);
    for (const orderId of stalled) {
      await runWithContext({ correlationId: `recovery:${orderId}`, orderId }, async () => {
        try {
          // A charge left pending (a lost webhook) is asked about before the saga looks at it again.
          await this.payments.reconcileCharge(orderId).catch(() => undefined);
          await this.runner.advance(orderId);
        } catch (error) {
          this.logger.warn(
            { orderId, err: (error as Error).message },
            'could not resume a stalled saga; next pass retries',
          );
        }
      });
    }
    const resolved = await this.resolveMootDeadLetters();
    const pass = {
      resumed: stalled.length,
      timedOut: timedOut.length,
      notificationsRequeued: requeued,
      deadLettersResolved: resolved,
    };
    if (Object.values(pass).some((n) => n > 0)) {
      this.logger.log(pass, 'saga recovery pass');
    }
    return pass;
  }

  /**
   * A saga job that stalled out (BullMQ's STALLED: its worker died under it twice) or ran out of attempts
   * on transient failures is dead-lettered, but it only drove its orders' sagas, which recovery resumes
   * on its own. Once every order the job carried has a finished saga, the letter is moot: RESOLVED, with
   * the reason, so that open dead letters stay the ones an operator must look at.
   */
  private async resolveMootDeadLetters(): Promise<number> {
    const sagaLetters = await this.deadLetters.openWithSubjects(
      SAGA_QUEUES,
      ['STALLED', 'ATTEMPTS_EXHAUSTED'],
      'orderId',
      BATCH * 10,
    );
    const finished =
      sagaLetters.length > 0
        ? await this.sagas.findFinished(
            this.dataSource.manager,
            sagaLetters.flatMap((l) => l.subjects).filter(isUuid),
          )
        : new Set<string>();
    // A notification job that stalled out: moot once the notification went out anyway (recovery asks for
    // a QUEUED one again). One that ran out of attempts ended FAILED: that one stays for an operator.
    const noticeLetters = await this.deadLetters.openWithSubjects(
      [QUEUES.notificationSending],
      ['STALLED'],
      'notificationId',
      BATCH * 10,
    );
    const sent =
      noticeLetters.length > 0
        ? await this.notifications.findSent(noticeLetters.flatMap((l) => l.subjects).filter(isUuid))
        : new Set<string>();
    const moot = (letters: { id: string; subjects: string[] }[], done: Set<string>) =>
      letters.filter((l) => l.subjects.length > 0 && l.subjects.every((id) => done.has(id))).map((l) => l.id);
    return (
      (await this.deadLetters.resolve(
        moot(sagaLetters, finished),
        'saga recovery finished the order after the job failed',
      )) +
      (await this.deadLetters.resolve(
        moot(noticeLetters, sent),
        'the notification was sent after the job stalled',
      ))
    );
  }
}

/** A letter's payload is data from a queue: anything but a uuid is never looked up (it stays open). */
function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
