import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Page } from '../../platform/http/pagination';
import { ProblemDetailsDto } from '../../platform/http/problem-details.dto';
import { AuthenticatedUser, CurrentUser } from '../auth/auth.decorators';
import { Roles } from '../../platform/http/access.decorators';
import {
  CreateUserDto,
  ListUsersQueryDto,
  UpdateProfileDto,
  UpdateUserDto,
  UserPageDto,
  UserResponseDto,
} from './users.dto';
import { UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ type: ProblemDetailsDto, description: 'No valid access token' })
@ApiTooManyRequestsResponse({ type: ProblemDetailsDto, description: 'Rate limited; see `Retry-After`' })
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('profile')
  @ApiOperation({ summary: 'The caller’s own account' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse({ type: ProblemDetailsDto, description: 'The account was deleted' })
  profile(@CurrentUser() caller: AuthenticatedUser): Promise<UserResponseDto> {
    return this.users.get(caller, caller.id);
  }

  @Put('profile')
  @ApiOperation({ summary: 'Change the caller’s names, phone or language' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({ type: ProblemDetailsDto, description: 'Invalid or unknown fields (such as role)' })
  updateProfile(
    @CurrentUser() caller: AuthenticatedUser,
    @Body() body: UpdateProfileDto,
  ): Promise<UserResponseDto> {
    return this.users.updateProfile(caller, body);
  }

  @Roles('admin')
  @Get()
  @ApiOperation({ summary: 'List users (admin): paginated, searchable, filterable, sortable' })
  @ApiOkResponse({ type: UserPageDto })
  @ApiBadRequestResponse({
    type: ProblemDetailsDto,
    description: 'Invalid query (limit over 100, unknown sort)',
  })
  @ApiForbiddenResponse({ type: ProblemDetailsDto, description: 'Not an admin' })
  list(@Query() query: ListUsersQueryDto): Promise<Page<UserResponseDto>> {
    return this.users.list(query);
  }

  @Roles('admin')
  @Post()
  @ApiOperation({ summary: 'Create a user of any role (admin)' })
  @ApiCreatedResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({ type: ProblemDetailsDto, description: 'Invalid body' })
  @ApiForbiddenResponse({ type: ProblemDetailsDto, description: 'Not an admin' })
  @ApiConflictResponse({ type: ProblemDetailsDto, description: 'The email is taken (code EMAIL_TAKEN)' })
  create(@Body() body: CreateUserDto): Promise<UserResponseDto> {
    return this.users.create(body);
  }

  @Get(':id')
  @ApiOperation({ summary: 'One user (admin: anyone; customer: only themself)' })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiNotFoundResponse({
    type: ProblemDetailsDto,
    description: 'No such user, or not the caller (customers)',
  })
  get(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<UserResponseDto> {
    return this.users.get(caller, id);
  }

  @Put(':id')
  @ApiOperation({
    summary: 'Change a user (admin: any field; customer: only their own names, phone, language)',
  })
  @ApiOkResponse({ type: UserResponseDto })
  @ApiBadRequestResponse({
    type: ProblemDetailsDto,
    description: 'Invalid or unknown fields; a customer sending email, role or isActive',
  })
  @ApiNotFoundResponse({
    type: ProblemDetailsDto,
    description: 'No such user, or not the caller (customers)',
  })
  @ApiConflictResponse({ type: ProblemDetailsDto, description: 'The new email is taken (code EMAIL_TAKEN)' })
  update(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateUserDto,
  ): Promise<UserResponseDto> {
    return this.users.update(caller, id, body);
  }

  @Roles('admin')
  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Soft-delete a user (admin): no more logins or refreshes; their orders stay' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiBadRequestResponse({ type: ProblemDetailsDto, description: 'The id is not a UUID' })
  @ApiForbiddenResponse({ type: ProblemDetailsDto, description: 'Not an admin' })
  @ApiNotFoundResponse({ type: ProblemDetailsDto, description: 'No such user' })
  @ApiConflictResponse({ type: ProblemDetailsDto, description: 'An admin deleting themself' })
  remove(
    @CurrentUser() caller: AuthenticatedUser,
    @Param('id', new ParseUUIDPipe()) id: string,
  ): Promise<void> {
    return this.users.remove(caller, id);
  }
}
