import {
  Body,
  Controller,
  Delete,
  ForbiddenException,
  Headers,
  HttpCode,
  HttpStatus,
  Post,
  Req,
  Res,
} from '@nestjs/common';
import {
  ApiForbiddenResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { Public } from '../../platform/http/access.decorators';
import { API_PREFIX } from '../../platform/http/configure-http';
import { cookieValue } from '../../platform/http/cookies';
import { AuthSessionDto, LoginDto } from './auth.dto';
import { InvalidRefreshTokenError } from './auth.errors';
import { AuthService } from './auth.service';

export const CONSOLE_COOKIE = 'aop_console_refresh';
/** The only path the refresh cookie is sent to: this controller's. */
export const CONSOLE_SESSION_PATH = `/${API_PREFIX}/auth/console`;
/** Sent by the console's own script: a cross-site form cannot add a header, so it cannot refresh or end a session. */
export const CONSOLE_HEADER = 'x-aop-console';

type ConsoleSession = Omit<AuthSessionDto, 'refreshToken'>;

/**
 * The operator console's way in (docs/console.md): the refresh token lives in an HttpOnly, SameSite=Strict
 * cookie scoped to this path, never in the page's reach; the access token is returned in the body and kept
 * in memory only. The usual refresh rotation (and its reuse detection) applies to the cookie.
 */
@ApiTags('auth')
@Public()
@ApiHeader({ name: CONSOLE_HEADER, required: true, description: 'Any value; proves the console sent it' })
@Controller('auth/console')
export class ConsoleSessionController {
  constructor(
    private readonly auth: AuthService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Post('session')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Log in to the operator console (admins only): access token in the body, refresh cookie',
  })
  @ApiOkResponse({ description: '{user, accessToken, expiresIn}; Set-Cookie holds the refresh token' })
  @ApiUnauthorizedResponse({ description: 'Wrong email or password' })
  @ApiForbiddenResponse({ description: 'Not an admin' })
  async open(
    @Body() body: LoginDto,
    @Headers(CONSOLE_HEADER) marker: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConsoleSession> {
    requireMarker(marker);
    const session = await this.auth.login(body.email, body.password, request.ip);
    if (session.user.role !== 'admin') {
      await this.auth.endSession(session.refreshToken);
      throw new ForbiddenException('The console is for admins.');
    }
    return this.answer(reply, session);
  }

  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'A new access token for the console, from its refresh cookie (rotated)' })
  @ApiOkResponse({ description: '{user, accessToken, expiresIn}' })
  @ApiUnauthorizedResponse({ description: 'No cookie, or a spent, expired or revoked one' })
  async refresh(
    @Headers(CONSOLE_HEADER) marker: string | undefined,
    @Headers('cookie') cookies: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ConsoleSession> {
    requireMarker(marker);
    const token = cookieValue(cookies, CONSOLE_COOKIE);
    try {
      if (!token) {
        throw new InvalidRefreshTokenError();
      }
      const session = await this.auth.refresh(token);
      if (session.user.role !== 'admin') {
        await this.auth.endSession(session.refreshToken);
        throw new InvalidRefreshTokenError();
      }
      return this.answer(reply, session);
    } catch (error) {
      if (error instanceof InvalidRefreshTokenError) {
        void reply.header('set-cookie', this.cookie('', 0));
      }
      throw error;
    }
  }

  @Delete('session')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Log out of the console: the refresh token’s family is revoked, the cookie cleared',
  })
  @ApiNoContentResponse()
  async close(
    @Headers(CONSOLE_HEADER) marker: string | undefined,
    @Headers('cookie') cookies: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    requireMarker(marker);
    const token = cookieValue(cookies, CONSOLE_COOKIE);
    if (token) {
      await this.auth.endSession(token);
    }
    void reply.header('set-cookie', this.cookie('', 0));
  }

  private answer(reply: FastifyReply, session: AuthSessionDto): ConsoleSession {
    const { refreshToken, ...rest } = session;
    void reply.header('set-cookie', this.cookie(refreshToken, this.config.auth.refreshTokenTtlSeconds));
    void reply.header('cache-control', 'no-store');
    return rest;
  }

  private cookie(value: string, maxAgeSeconds: number): string {
    const secure = this.config.env === 'production' ? '; Secure' : '';
    return `${CONSOLE_COOKIE}=${value}; Path=${CONSOLE_SESSION_PATH}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`;
  }
}

function requireMarker(marker: string | undefined): void {
  if (!marker) {
    throw new ForbiddenException(`Console session requests carry the ${CONSOLE_HEADER} header.`);
  }
}
