import { Body, Controller, Get, HttpCode, Logger, Module, Param, Post } from '@nestjs/common';
import { IsInt, IsString, Length, Min } from 'class-validator';
import { DataSource } from 'typeorm';
import { currentContext } from '../../src/platform/http/request-context';
import { Public } from '../../src/platform/http/access.decorators';

export class EchoDto {
  @IsString()
  @Length(1, 40)
  name!: string;

  @IsInt()
  @Min(1)
  quantity!: number;
}

/** Test-only routes that exercise the HTTP edge: a validated body, an unexpected error, a logged journey. */
@Public()
@Controller('test-edge')
export class HttpEdgeTestController {
  private readonly logger = new Logger(HttpEdgeTestController.name);

  constructor(private readonly dataSource: DataSource) {}

  @Post('echo')
  @HttpCode(200)
  echo(@Body() body: EchoDto): EchoDto {
    return body;
  }

  @Get('boom')
  boom(): never {
    throw new Error('internal detail: SELECT secret FROM vault WHERE id = 42');
  }

  /** Logs before and after real I/O, so the context has to survive the await. */
  @Get('journey/:marker')
  async journey(@Param('marker') marker: string): Promise<{ correlationId?: string }> {
    this.logger.log({ marker }, 'journey started');
    await this.dataSource.query('SELECT pg_sleep(0.01)');
    this.logger.log({ marker }, 'journey finished');
    return { correlationId: currentContext()?.correlationId };
  }
}

@Module({ controllers: [HttpEdgeTestController] })
export class HttpEdgeTestModule {}
