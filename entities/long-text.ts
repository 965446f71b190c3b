/**
 * Text columns that may hold more than 64 KiB: a generated change plan of a
 * few hundred tasks is megabytes of WS-BPEL. SQLite's `text` has no such
 * limit, MySQL's does, and TypeORM has no column type that is long on both,
 * so such a column is declared `text` and marked with `@LongText()`; the
 * service's DataSource (src/db/data-source.ts) reads it as `longtext` on
 * MySQL/MariaDB, where the migrations create it so.
 */
const marked = new Set<string>();

/** Marks a `text` column as `longtext` on MySQL/MariaDB. */
export function LongText(): PropertyDecorator {
  return (target, property) => {
    marked.add(`${target.constructor.name}.${String(property)}`);
  };
}

/** Whether the column `property` of the entity class named `entity` is marked. */
export function isLongText(entity: string, property: string): boolean {
  return marked.has(`${entity}.${property}`);
}
