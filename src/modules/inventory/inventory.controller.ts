import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { AuthenticatedUser, CurrentUser } from '../auth/auth.decorators';
import { Public, Roles } from '../../platform/http/access.decorators';
import { PaginationQueryDto } from '../../platform/http/pagination';
import { ListInventoryQueryDto, ReplenishDto, StockLevelsDto } from './inventory.dto';
import { StockService } from './stock.service';
import { StockLevels } from './inventory.types';

const uuid = new ParseUUIDPipe();

@ApiTags('inventory')
@Controller('inventory')
export class InventoryController {
  constructor(private readonly inventory: StockService) {}

  @Get()
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOkResponse({ description: 'Paginated stock levels, lowest availability first.' })
  @ApiUnauthorizedResponse()
  @ApiForbiddenResponse()
  list(@Query() query: ListInventoryQueryDto) {
    return this.inventory.list(query);
  }

  @Get(':productId')
  @Public()
  @ApiOkResponse({ type: StockLevelsDto })
  @ApiBadRequestResponse({ description: 'Malformed product id.' })
  @ApiNotFoundResponse()
  levels(@Param('productId', uuid) productId: string): Promise<StockLevels> {
    return this.inventory.getLevels(productId);
  }

  @Post(':productId/replenish')
  @HttpCode(200)
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOkResponse({ type: StockLevelsDto, description: 'The new levels.' })
  @ApiBadRequestResponse()
  @ApiUnauthorizedResponse()
  @ApiForbiddenResponse()
  @ApiNotFoundResponse()
  replenish(
    @Param('productId', uuid) productId: string,
    @Body() body: ReplenishDto,
    @CurrentUser() user: AuthenticatedUser,
  ): Promise<StockLevels> {
    return this.inventory.replenish(null, productId, body.quantity, {
      actor: `user:${user.id}`,
      reason: body.reason,
    });
  }

  @Get(':productId/movements')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOkResponse({ description: 'The stock ledger of the product, newest first.' })
  @ApiUnauthorizedResponse()
  @ApiForbiddenResponse()
  @ApiNotFoundResponse()
  movements(@Param('productId', uuid) productId: string, @Query() query: PaginationQueryDto) {
    return this.inventory.movements(productId, query);
  }
}
