import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
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
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Page } from '../../platform/http/pagination';
import { AuthenticatedUser, CurrentUser } from '../auth/auth.decorators';
import { Public, Roles } from '../../platform/http/access.decorators';
import {
  CreateProductDto,
  ListProductsQueryDto,
  PatchProductDto,
  ProductDto,
  ProductFieldsDto,
  SearchProductsQueryDto,
} from './product.dto';
import { Product } from './products.repository';
import { ProductsService, SearchPage } from './products.service';

const uuid = new ParseUUIDPipe();

@ApiTags('products')
@Controller('products')
export class ProductsController {
  constructor(private readonly products: ProductsService) {}

  @Get()
  @Public()
  @ApiOkResponse({ description: 'Paginated active products.' })
  @ApiBadRequestResponse()
  list(@Query() query: ListProductsQueryDto): Promise<Page<Product>> {
    return this.products.list(query);
  }

  @Get('search')
  @Public()
  @ApiOkResponse({ description: 'Full-text matches, best first; meta.match says fulltext or prefix.' })
  @ApiBadRequestResponse()
  search(@Query() query: SearchProductsQueryDto): Promise<SearchPage> {
    return this.products.search(query);
  }

  @Get(':id')
  @Public()
  @ApiOkResponse({ type: ProductDto })
  @ApiBadRequestResponse({ description: 'Malformed id.' })
  @ApiNotFoundResponse({ description: 'Unknown or deleted.' })
  findOne(@Param('id', uuid) id: string, @CurrentUser() viewer?: AuthenticatedUser): Promise<Product> {
    return this.products.findById(id, viewer);
  }

  @Post()
  @Roles('admin')
  @ApiBearerAuth()
  @ApiCreatedResponse({ type: ProductDto, description: 'Created, with its stock record.' })
  @ApiBadRequestResponse()
  @ApiUnauthorizedResponse()
  @ApiForbiddenResponse()
  @ApiConflictResponse({ description: 'SKU taken.' })
  create(@Body() body: CreateProductDto, @CurrentUser() user: AuthenticatedUser): Promise<Product> {
    return this.products.create(body, user);
  }

  @Put(':id')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOkResponse({ type: ProductDto })
  @ApiBadRequestResponse()
  @ApiUnauthorizedResponse()
  @ApiForbiddenResponse()
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'SKU taken.' })
  replace(@Param('id', uuid) id: string, @Body() body: ProductFieldsDto): Promise<Product> {
    return this.products.replace(id, body);
  }

  @Patch(':id')
  @Roles('admin')
  @ApiBearerAuth()
  @ApiOkResponse({ type: ProductDto })
  @ApiBadRequestResponse()
  @ApiUnauthorizedResponse()
  @ApiForbiddenResponse()
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: 'SKU taken.' })
  patch(@Param('id', uuid) id: string, @Body() body: PatchProductDto): Promise<Product> {
    return this.products.patch(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Roles('admin')
  @ApiBearerAuth()
  @ApiNoContentResponse({ description: 'Soft-deleted.' })
  @ApiUnauthorizedResponse()
  @ApiForbiddenResponse()
  @ApiNotFoundResponse()
  remove(@Param('id', uuid) id: string): Promise<void> {
    return this.products.remove(id);
  }
}
