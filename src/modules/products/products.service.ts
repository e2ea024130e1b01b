import { Injectable } from '@nestjs/common';
import { ReadReplicas } from '../../platform/database/read-replicas';
import { DataSource, QueryFailedError } from 'typeorm';
import { AppConfig } from '../../config/config';
import { InjectConfig } from '../../config/config.module';
import { BadRequestError, ConflictError, NotFoundError } from '../../platform/http/domain-error';
import { offsetOf, Page, pageOf } from '../../platform/http/pagination';
import { AuthenticatedUser } from '../auth/auth.decorators';
import { StockService } from '../inventory/stock.service';
import { ProductCache } from './product-cache';
import {
  CreateProductDto,
  ListProductsQueryDto,
  PatchProductDto,
  ProductFieldsDto,
  SearchProductsQueryDto,
} from './product.dto';
import { Product, ProductFields, ProductsRepository } from './products.repository';

export type SearchPage = Page<Product> & { meta: Page<Product>['meta'] & { match: 'fulltext' | 'prefix' } };

/** Terms shorter than this match too much noise in full-text search; they are matched as name prefixes. */
const MIN_FULL_TEXT_LENGTH = 3;

/**
 * The catalogue's use cases. Reads go through the cache; every write commits, then invalidates the
 * cache before it answers, so no reader sees the old price once the write has returned.
 */
@Injectable()
export class ProductsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly replicas: ReadReplicas,
    private readonly repository: ProductsRepository,
    private readonly stock: StockService,
    private readonly cache: ProductCache,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async list(query: ListProductsQueryDto): Promise<Page<Product>> {
    if (query.minPrice && query.maxPrice && cents(query.minPrice) > cents(query.maxPrice)) {
      throw new BadRequestError('minPrice must not exceed maxPrice.', [
        { field: 'minPrice', message: 'minPrice must not exceed maxPrice' },
      ]);
    }
    const sortBy = query.sortBy ?? 'createdAt';
    const sortOrder = query.sortOrder ?? (sortBy === 'createdAt' ? 'DESC' : 'ASC');
    const load = async (): Promise<Page<Product>> => {
      // Catalogue reads tolerate staleness: a fresh replica answers when there is one.
      return this.repository.list((await this.replicas.reader()).manager, {
        search: query.search,
        minPrice: query.minPrice,
        maxPrice: query.maxPrice,
        sortBy,
        sortOrder,
        page: query.page,
        limit: query.limit,
        cursor: query.cursor,
      });
    };
    const isDefaultListing =
      !query.search &&
      !query.minPrice &&
      !query.maxPrice &&
      sortBy === 'createdAt' &&
      sortOrder === 'DESC' &&
      query.cursor === undefined;
    if (isDefaultListing && query.page <= this.config.catalogue.cachedListingPages) {
      return this.cache.getOrLoad('product_list', `${query.page}:${query.limit}`, load);
    }
    return load();
  }

  /** Full-text search, ranked; short terms, and terms full-text search cannot match, as name prefixes. */
  async search(query: SearchProductsQueryDto): Promise<SearchPage> {
    const page = { offset: offsetOf(query.page, query.limit), limit: query.limit };
    const manager = (await this.replicas.reader()).manager;
    if (query.q.length >= MIN_FULL_TEXT_LENGTH) {
      const found = await this.repository.searchFullText(manager, query.q, page);
      if (found.total > 0) {
        return withMatch(pageOf(found.items, query.page, query.limit, found.total), 'fulltext');
      }
    }
    const found = await this.repository.searchPrefix(manager, query.q, page);
    return withMatch(pageOf(found.items, query.page, query.limit, found.total), 'prefix');
  }

  /** Active products for everyone; inactive ones only for admins; deleted ones for nobody. */
  async findById(id: string, viewer?: AuthenticatedUser): Promise<Product> {
    const product = await this.cache.getOrLoad('product', id, () =>
      this.repository.findById(this.dataSource.manager, id),
    );
    if (!product || (!product.isActive && viewer?.role !== 'admin')) {
      throw new NotFoundError(`Product ${id} was not found.`);
    }
    return product;
  }

  async create(dto: CreateProductDto, actor: AuthenticatedUser): Promise<Product> {
    const product = await this.writing(() =>
      this.dataSource.transaction(async (tx) => {
        const created = await this.repository.insert(tx, fieldsOf(dto));
        await this.stock.createStockRecord(tx, created.id, {
          initialStock: dto.initialStock,
          lowStockThreshold: dto.lowStockThreshold,
          actor: `user:${actor.id}`,
        });
        return created;
      }),
    );
    await this.cache.invalidateAll();
    return product;
  }

  /** PUT: every field is replaced; optional ones not sent go back to their defaults. */
  async replace(id: string, dto: ProductFieldsDto): Promise<Product> {
    return this.update(id, fieldsOf(dto));
  }

  async patch(id: string, dto: PatchProductDto): Promise<Product> {
    const required = (['sku', 'name', 'price', 'currency', 'isActive'] as const).filter(
      (f) => dto[f] === null,
    );
    if (required.length > 0) {
      throw new BadRequestError(
        'These fields cannot be null.',
        required.map((field) => ({ field, message: `${field} cannot be null` })),
      );
    }
    const fields: Partial<ProductFields> = {
      sku: dto.sku,
      name: dto.name,
      description: dto.description === null ? '' : dto.description,
      price: dto.price,
      currency: dto.currency,
      category: dto.category,
      isActive: dto.isActive,
    };
    if (Object.values(fields).every((v) => v === undefined)) {
      throw new BadRequestError('The request changes nothing: send at least one field.');
    }
    return this.update(id, fields);
  }

  async remove(id: string): Promise<void> {
    const deleted = await this.repository.softDelete(this.dataSource.manager, id);
    if (!deleted) {
      throw new NotFoundError(`Product ${id} was not found.`);
    }
    await this.cache.invalidateAll();
  }

  private async update(id: string, fields: Partial<ProductFields>): Promise<Product> {
    const product = await this.writing(() => this.repository.update(this.dataSource.manager, id, fields));
    if (!product) {
      throw new NotFoundError(`Product ${id} was not found.`);
    }
    await this.cache.invalidateAll();
    return product;
  }

  /** SKU uniqueness rests on the unique index: insert and catch the conflict, never look first. */
  private async writing<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (
        error instanceof QueryFailedError &&
        (error.driverError as { code?: string; constraint?: string }).constraint === 'products_sku_key'
      ) {
        throw new ConflictError('A product with this SKU already exists.', 'SKU_TAKEN');
      }
      throw error;
    }
  }
}

function fieldsOf(dto: ProductFieldsDto): ProductFields {
  return {
    sku: dto.sku,
    name: dto.name,
    description: dto.description ?? '',
    price: dto.price,
    currency: dto.currency ?? 'USD',
    category: dto.category ?? null,
    isActive: dto.isActive ?? true,
  };
}

/** Exact comparison of validated decimal strings: integer cents, never floats. */
function cents(price: string): bigint {
  const [whole, fraction = ''] = price.split('.');
  return BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
}

function withMatch(page: Page<Product>, match: 'fulltext' | 'prefix'): SearchPage {
  return { data: page.data, meta: { ...page.meta, match } };
}
