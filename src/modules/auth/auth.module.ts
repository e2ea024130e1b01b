import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { ConsoleSessionController } from './console-session.controller';
import { LogOutEverywhere } from './log-out-everywhere';
import { LoginThrottle } from './login-throttle';

/** The account endpoints: register, login, refresh, logout, logout everywhere. */
@Module({
  imports: [UsersModule],
  controllers: [AuthController, ConsoleSessionController],
  providers: [AuthService, LoginThrottle, LogOutEverywhere],
})
export class AuthModule {}
