/** Query strings for the schemas: a repeated parameter stays an array so the schema refuses it by name. */
export function singleValued(query: Record<string, string | string[] | undefined>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined));
}
