// A JSON Schema 2020-12 object as the document holds it (OpenAPI 3.1 schemas are JSON Schema).
export type JsonSchema = { [keyword: string]: unknown };
