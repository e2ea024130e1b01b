/**
 * Every TypeORM entity of the application. Modules add theirs here; the list is explicit so that the
 * compiled app, the tests and the migration scripts load exactly the same classes.
 */
import { EntitySchema } from 'typeorm';

// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeORM's own type for entity classes
export const ENTITIES: (Function | EntitySchema)[] = [];
