import { Body, Controller, HttpCode, HttpStatus, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ProblemDetailsDto } from '../../platform/http/problem-details.dto';
import { AuthenticatedUser, CurrentUser } from './auth.decorators';
import { Public } from '../../platform/http/access.decorators';
import { AuthSessionDto, LoginDto, RefreshTokenDto, RegisterDto } from './auth.dto';
import { AuthService } from './auth.service';
import { LogOutEverywhere } from './log-out-everywhere';

@ApiTags('auth')
@ApiBadRequestResponse({ type: ProblemDetailsDto, description: 'Invalid body; `errors[]` lists each field' })
@ApiTooManyRequestsResponse({ type: ProblemDetailsDto, description: 'Rate limited; see `Retry-After`' })
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly logOutEverywhere: LogOutEverywhere,
  ) {}

  @Public()
  @Post('register')
  @ApiOperation({ summary: 'Create a customer account and start a session' })
  @ApiCreatedResponse({ type: AuthSessionDto })
  @ApiConflictResponse({ type: ProblemDetailsDto, description: 'The email is taken (code EMAIL_TAKEN)' })
  register(@Body() body: RegisterDto): Promise<AuthSessionDto> {
    return this.auth.register(body);
  }

  @Public()
  @Post('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Exchange email and password for an access token and a refresh token',
    description:
      'After 5 failed logins for one email (or 20 from one IP) within 15 minutes the answer is 429 with `Retry-After`.',
  })
  @ApiOkResponse({ type: AuthSessionDto })
  @ApiUnauthorizedResponse({
    type: ProblemDetailsDto,
    description: 'Wrong email or password, or a disabled account (one answer for all: INVALID_CREDENTIALS)',
  })
  login(@Body() body: LoginDto, @Req() request: FastifyRequest): Promise<AuthSessionDto> {
    return this.auth.login(body.email, body.password, request.ip);
  }

  @Public()
  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Rotate the refresh token: get a new pair, the old refresh token is spent',
    description:
      'Presenting a spent refresh token again revokes its whole family: every session of that login ends.',
  })
  @ApiOkResponse({ type: AuthSessionDto })
  @ApiUnauthorizedResponse({
    type: ProblemDetailsDto,
    description: 'Unknown, expired, spent or revoked token',
  })
  refresh(@Body() body: RefreshTokenDto): Promise<AuthSessionDto> {
    return this.auth.refresh(body.refreshToken);
  }

  @ApiBearerAuth()
  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: "Revoke the refresh token's family (the access token expires on its own)" })
  @ApiNoContentResponse({ description: 'Logged out (also when the token was already invalid)' })
  @ApiUnauthorizedResponse({ type: ProblemDetailsDto, description: 'No valid access token' })
  logout(@CurrentUser() user: AuthenticatedUser, @Body() body: RefreshTokenDto): Promise<void> {
    return this.auth.logout(user.id, body.refreshToken);
  }

  @ApiBearerAuth()
  @Post('logout-all')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({
    summary: 'Log out everywhere',
    description:
      'Revokes every refresh token of the caller and every access token issued so far, on every API instance within seconds.',
  })
  @ApiNoContentResponse({ description: 'Every session of the caller ended (this access token included)' })
  @ApiUnauthorizedResponse({ type: ProblemDetailsDto, description: 'No valid access token' })
  logoutAll(@CurrentUser() user: AuthenticatedUser): Promise<void> {
    return this.logOutEverywhere.execute(user.id);
  }
}
