/** The part of hpack.js (indutny/hpack.js, RFC 7541) the wire tap uses; the package ships no types. */
declare module "hpack.js" {
  export interface HeaderField {
    name: string;
    value: string;
    neverIndex: boolean;
  }
  export interface Decompressor {
    write(chunk: Uint8Array): boolean;
    /** Decodes what was written; throws through the callback (or an "error" event) on a malformed block. */
    execute(callback?: (error: Error | null) => void): void;
    read(): HeaderField | null;
    updateTableSize(size: number): void;
    on(event: "error", listener: (error: Error) => void): this;
  }
  export interface Compressor {
    write(headers: { name: string; value: string }[]): boolean;
    read(): Buffer | null;
  }
  const hpack: {
    /** table.maxSize: the table's size at the start, and the most an encoder may update it to. */
    decompressor: { create(options: { table: { maxSize: number } }): Decompressor };
    compressor: { create(options: { table: { maxSize: number } }): Compressor };
  };
  export default hpack;
}
