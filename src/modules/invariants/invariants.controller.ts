import { Controller, Get } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Roles } from '../../platform/http/access.decorators';
import { InvariantReport } from './invariant-checker';
import { InvariantsService } from './invariants.service';

@ApiTags('admin')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'No valid access token' })
@ApiForbiddenResponse({ description: 'Not an admin' })
@Roles('admin')
@Controller('admin/invariants')
export class InvariantsController {
  constructor(private readonly invariants: InvariantsService) {}

  @Get()
  @ApiOperation({
    summary: 'Run the invariant checker now: every promise of the system as SQL, with the rows that break it',
  })
  @ApiOkResponse({
    description:
      '`ok` is false when any violation check found rows; `attention` checks list work for an operator.',
  })
  run(): Promise<InvariantReport> {
    return this.invariants.check();
  }
}
