// Row reuse over a captured step. A GEMM computes each output row from the same row of A alone
// (with the same B, bias and activation); so when A is a concatenation of row blocks that were
// already multiplied by the same B, its product is the concatenation of those products, bit for
// bit. An ALP critic step evaluates D(real), D(fake) and then D([real; fake]) for the penalty:
// every layer of the third pass is such a product. This pass replaces each one by buffer copies
// of the earlier results (a copy is exact), layer after layer.
import { commandAccess, type Command, type CopyCommand } from './capture.js';

/** A GEMM whose output row i depends only on row i of A (A not transposed, one matrix). */
export interface RowProduct {
  a: GPUBuffer;
  out: GPUBuffer;
  rows: number;
  /** bytes of one row of A and of the output */
  rowBytesA: number;
  rowBytesOut: number;
  /** B and the bias, and everything else that must match for two products to agree row for row */
  b: GPUBuffer;
  bias: GPUBuffer | null;
  same: string;
}

/** A block of a buffer's rows that a copy wrote from another buffer, and where the copy ran. */
interface Piece {
  src: GPUBuffer;
  offset: number;
  bytes: number;
  at: number;
}

/**
 * Replaces each GEMM over a row concatenation by copies of earlier products of its blocks with the
 * same B, where those products and their inputs still hold at that point. Every other command is
 * kept in order.
 */
export function reuseRows(commands: Command[]): Command[] {
  const writes = new Map<GPUBuffer, number[]>();
  commands.forEach((c, i) => {
    for (const b of commandAccess(c).writes) (writes.get(b) ?? writes.set(b, []).get(b)!).push(i);
  });
  const untouched = (b: GPUBuffer, from: number, to: number) => !(writes.get(b) ?? []).some((w) => w > from && w < to);

  const pieces = new Map<GPUBuffer, Piece[]>(); // row blocks copied into a buffer since it was last written otherwise
  const products: { at: number; p: RowProduct }[] = [];
  const out: Command[] = [];
  commands.forEach((c, i) => {
    if (c.kind === 'copy') {
      (pieces.get(c.dst) ?? pieces.set(c.dst, []).get(c.dst)!).push({
        src: c.src,
        offset: c.dstOffset,
        bytes: c.bytes,
        at: i,
      });
      out.push(c);
      return;
    }
    if (c.kind === 'dispatch') {
      const copies = c.rows && fromBlocks(c.rows, pieces.get(c.rows.a) ?? [], products, i, untouched);
      for (const b of commandAccess(c).writes) pieces.delete(b);
      if (copies) {
        out.push(...copies);
        pieces.set(
          c.rows!.out,
          copies.map((k) => ({ src: k.src, offset: k.dstOffset, bytes: k.bytes, at: i })),
        );
        return;
      }
      if (c.rows) products.push({ at: i, p: c.rows });
    }
    out.push(c);
  });
  return out;
}

/** The copies that build product `g` from earlier products of the blocks its A was copied from, or null. */
function fromBlocks(
  g: RowProduct,
  blocks: Piece[],
  products: { at: number; p: RowProduct }[],
  at: number,
  untouched: (b: GPUBuffer, from: number, to: number) => boolean,
): CopyCommand[] | null {
  const sorted = [...blocks].sort((x, y) => x.offset - y.offset);
  let next = 0;
  const copies: CopyCommand[] = [];
  for (const piece of sorted) {
    if (piece.offset !== next || piece.bytes % g.rowBytesA !== 0) return null;
    const rows = piece.bytes / g.rowBytesA;
    // the latest product of this block with the same B whose input still held when the block was
    // copied and whose output still holds here
    const match = [...products]
      .reverse()
      .find(
        ({ at: j, p }) =>
          p.a === piece.src &&
          p.rows === rows &&
          p.b === g.b &&
          p.bias === g.bias &&
          p.same === g.same &&
          p.out !== g.out &&
          untouched(p.a, Math.min(j, piece.at), Math.max(j, piece.at)) &&
          untouched(p.out, j, at) &&
          untouched(p.b, j, at) &&
          (p.bias === null || untouched(p.bias, j, at)),
      );
    if (!match) return null;
    copies.push({
      kind: 'copy',
      src: match.p.out,
      dst: g.out,
      bytes: rows * g.rowBytesOut,
      dstOffset: (piece.offset / g.rowBytesA) * g.rowBytesOut,
    });
    next += piece.bytes;
  }
  return next === g.rows * g.rowBytesA ? copies : null;
}
