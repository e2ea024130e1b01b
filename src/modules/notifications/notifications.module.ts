import { Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { OrderNotificationsController } from './order-notifications.controller';
import { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { randomSource } from '../../platform/random';
import { EmailNotificationProvider } from './email.provider';
import { NOTIFICATION_PROVIDERS } from './notification-provider';
import { NotificationPreferencesController } from './notification-preferences.controller';
import { NotificationPreferencesRepository } from './notification-preferences';
import { NotificationRateLimiter } from './notification-rate-limiter';
import { NotificationTemplates } from './notification-templates';
import { NotificationsRepository } from './notifications.repository';
import { NotificationsService } from './notifications.service';
import { NotificationsWorker } from './notifications.worker';
import { SmsNotificationProvider } from './sms.provider';

function simulationOf(config: AppConfig, salt: number) {
  const n = config.notification;
  return {
    successRate: n.successRate,
    random: randomSource(n.randomSeed === undefined ? undefined : n.randomSeed + salt),
    keepLast: n.keepLastMessages,
  };
}

@Module({
  controllers: [NotificationPreferencesController, OrderNotificationsController],
  providers: [
    {
      provide: EmailNotificationProvider,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) =>
        new EmailNotificationProvider(
          config.notification.emailFrom,
          config.notification.smtpUrl,
          simulationOf(config, 0),
        ),
    },
    {
      provide: SmsNotificationProvider,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new SmsNotificationProvider(simulationOf(config, 1)),
    },
    {
      provide: NOTIFICATION_PROVIDERS,
      inject: [EmailNotificationProvider, SmsNotificationProvider],
      useFactory: (email: EmailNotificationProvider, sms: SmsNotificationProvider) => [email, sms],
    },
    { provide: NotificationTemplates, useFactory: () => new NotificationTemplates() },
    NotificationPreferencesRepository,
    NotificationRateLimiter,
    NotificationsRepository,
    NotificationsService,
    NotificationsWorker,
  ],
  exports: [NotificationsService],
})
export class NotificationsModule implements OnApplicationShutdown {
  constructor(@Inject(EmailNotificationProvider) private readonly email: EmailNotificationProvider) {}

  onApplicationShutdown(): void {
    this.email.close();
  }
}
