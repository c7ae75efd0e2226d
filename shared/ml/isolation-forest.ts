import { InputError } from "../errors.js";
import { fnv1a32Bytes } from "../hash.js";
import { Rng } from "../random.js";

/**
 * Isolation forest as in Liu, Ting and Zhou (ICDM 2008): each tree is grown on its own subsample
 * of `sampleSize` rows drawn without replacement, split on a random non-constant feature at a
 * uniform value between that feature's min and max in the node, down to a height limit of
 * ceil(log2(sampleSize)). A row's score is 2^(-E[h(x)] / c(sampleSize)), where h(x) is the path
 * length plus the c(n) correction for the n training rows left unseparated in the reached leaf.
 *
 * Storage is flat: all trees' nodes live in three typed arrays, nodes in pre-order, so the left
 * child of node i is i + 1 and only the right child index is stored. A leaf keeps its path length
 * (depth + c(size)) in the `split` slot, so scoring is a tight loop with no allocation per row.
 */

export interface ForestOptions {
  /** Number of trees (default 100). */
  trees?: number;
  /** Rows per tree, drawn without replacement (default 256; capped at the number of rows). */
  sampleSize?: number;
  /** Seed for the subsampling and splits; the same seed and rows give the same model. */
  seed?: number;
  /**
   * Range-aware scoring (default false: the classic algorithm). A classic tree sends a value
   * beyond its sample's range down the same path as the most extreme sample, so a point 10x out
   * of range scores no higher than the training extreme. With this on, each tree also keeps its
   * sample's per-feature bounding box, and a row outside it gets the expected path length of a
   * tree that had also seen the row: see docs/ml.md. Rows inside every box score exactly as
   * in the classic forest.
   */
  extrapolate?: boolean;
}

const EULER_GAMMA = 0.5772156649015329;
const LEAF = -1;

/** Rows per block of batch scoring: a block's rows stay in cache while every tree walks them. */
const SCORE_BLOCK = 512;
/** Deepest tree the complete layout takes: 1023 internal nodes per tree at most. */
const FULL_LAYOUT_MAX_HEIGHT = 10;
/** Below this many rows, building the complete layout costs more than it saves. */
const FULL_LAYOUT_MIN_ROWS = 256;

/** Every tree as a complete binary tree of `height` levels, in heap order. */
interface FullLayout {
  height: number;
  trees: number;
  /** Per tree, (2^height - 1) internal nodes: feature and split. */
  feature: Int16Array;
  split: Float32Array;
  /** Per tree, 2^height leaves: the path length of the leaf of the original tree they copy. */
  leaf: Float32Array;
}

/**
 * One level down a tree of the complete layout: to 2at+1 when the row's value is below the split,
 * else to 2at+2 (NaN goes right, as in `pathLength`). Arithmetic on the comparison, not a branch.
 */
function descend(
  rows: Float64Array,
  offset: number,
  feature: Int16Array,
  split: Float32Array,
  nodes: number,
  at: number,
): number {
  return (
    2 * at + 2 - +((rows[offset + (feature[nodes + at] as number)] as number) < (split[nodes + at] as number))
  );
}

/**
 * Batch scoring on the complete layout. Each step is `at = 2at + 2 - (x < split)`, arithmetic
 * rather than a branch, and eight rows walk a tree side by side: a branch per level mispredicts
 * about half the time, while eight independent chains of loads keep the CPU busy (2.5 to 3 times
 * faster than the branching walk in `npm run bench`). Sums are taken in
 * tree order, as in `pathLength`, so scores are bit-for-bit the same as the other paths.
 */
function scoreFull(
  layout: FullLayout,
  rows: Float64Array,
  nFeatures: number,
  n: number,
  normaliser: number,
  result: Float64Array,
): void {
  const { height, trees, feature, split, leaf } = layout;
  const internal = (1 << height) - 1;
  for (let blockStart = 0; blockStart < n; blockStart += SCORE_BLOCK) {
    const blockEnd = Math.min(n, blockStart + SCORE_BLOCK);
    for (let i = blockStart; i < blockEnd; i++) result[i] = 0;
    for (let t = 0; t < trees; t++) {
      const nodes = t * internal;
      const leaves = t * (internal + 1) - internal;
      let i = blockStart;
      for (; i + 7 < blockEnd; i += 8) {
        const o0 = i * nFeatures;
        const o1 = o0 + nFeatures;
        const o2 = o1 + nFeatures;
        const o3 = o2 + nFeatures;
        const o4 = o3 + nFeatures;
        const o5 = o4 + nFeatures;
        const o6 = o5 + nFeatures;
        const o7 = o6 + nFeatures;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let a4 = 0;
        let a5 = 0;
        let a6 = 0;
        let a7 = 0;
        for (let level = 0; level < height; level++) {
          a0 = descend(rows, o0, feature, split, nodes, a0);
          a1 = descend(rows, o1, feature, split, nodes, a1);
          a2 = descend(rows, o2, feature, split, nodes, a2);
          a3 = descend(rows, o3, feature, split, nodes, a3);
          a4 = descend(rows, o4, feature, split, nodes, a4);
          a5 = descend(rows, o5, feature, split, nodes, a5);
          a6 = descend(rows, o6, feature, split, nodes, a6);
          a7 = descend(rows, o7, feature, split, nodes, a7);
        }
        result[i] = (result[i] as number) + (leaf[leaves + a0] as number);
        result[i + 1] = (result[i + 1] as number) + (leaf[leaves + a1] as number);
        result[i + 2] = (result[i + 2] as number) + (leaf[leaves + a2] as number);
        result[i + 3] = (result[i + 3] as number) + (leaf[leaves + a3] as number);
        result[i + 4] = (result[i + 4] as number) + (leaf[leaves + a4] as number);
        result[i + 5] = (result[i + 5] as number) + (leaf[leaves + a5] as number);
        result[i + 6] = (result[i + 6] as number) + (leaf[leaves + a6] as number);
        result[i + 7] = (result[i + 7] as number) + (leaf[leaves + a7] as number);
      }
      for (; i < blockEnd; i++) {
        const offset = i * nFeatures;
        let at = 0;
        for (let level = 0; level < height; level++) at = descend(rows, offset, feature, split, nodes, at);
        result[i] = (result[i] as number) + (leaf[leaves + at] as number);
      }
    }
    for (let i = blockStart; i < blockEnd; i++)
      result[i] = 2 ** (-((result[i] as number) / trees) / normaliser);
  }
}
const FORMAT_MAGIC = 0x524f4649; // "IFOR" little-endian
const FORMAT_VERSION = 1;
const HEADER_BYTES = 32;

/** Average path length of an unsuccessful BST search among n items: the leaf correction c(n). */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0;
  if (n === 2) return 1;
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n;
}

/**
 * Room for one row's path length in each tree, shared by every forest (scoring runs to the end
 * before another starts): a row outside the training box takes the extrapolation per tree.
 */
let leafPaths = new Float64Array(0);

/**
 * The packed word of a leaf (see IsolationForest.nodes): the leaf bit, feature 0 and a step of 0,
 * so `stepDown` leaves a walk that reached its leaf where it is. An internal node's feature is
 * below 32767 and never sets the bit.
 */
const LEAF_WORD = 0x8000;
/** The bit of a packed word that marks a leaf; the feature is the 15 bits below it. */
const LEAF_BIT = 0x8000;
const FEATURE_BITS = 0x7fff;

/**
 * One level down a packed tree from node `at` (word `w`): to at + 1 when the row's value is below
 * the split, else to the right child `w >>> 16` nodes on; a leaf stays put. Arithmetic on the
 * comparison rather than a branch: random splits send a row either way about equally often, so a
 * branch per level mispredicts about half the time (the walk was twice as slow that way). NaN
 * compares false and goes right: a missing value is treated as large, never a crash.
 */
function stepDown(
  data: ArrayLike<number>,
  offset: number,
  splits: Float32Array,
  at: number,
  w: number,
): number {
  const below = +((data[offset + (w & FEATURE_BITS)] as number) < (splits[2 * at + 1] as number));
  return at + below * (1 - ((w >>> 15) & 1)) + (1 - below) * (w >>> 16);
}

/** The flat arrays a forest is built from and serialized as. */
interface NodeArrays {
  /** Feature tested at each node, or -1 at a leaf. */
  feature: Int16Array;
  /** Split value at an internal node; the leaf's path length (depth + c(size)) at a leaf. */
  split: Float32Array;
  /** Index of the right child at an internal node (left is always i + 1); 0 at a leaf. */
  right: Int32Array;
}

export class IsolationForest {
  /**
   * Every node in 8 bytes, two 32-bit words: the first holds the feature (low 15 bits) and the
   * distance to the right child (high 16 bits), or LEAF_WORD; the second the split value (or
   * the leaf's path length) as a float32, read through `splits`. One row walks a node with one
   * cache line instead of three (feature, split and right child in separate arrays), which is
   * what a detector scoring one window of each of a thousand services pays for: their forests are
   * not in cache.
   */
  private readonly nodes: Int32Array;
  /** The same buffer as `nodes`, as float32: node i's split at 2i + 1. */
  private readonly splits: Float32Array;
  /** Index of each tree's root node. */
  private readonly roots: Int32Array;
  /** Per tree and feature, the min and max of the tree's subsample (trees x nFeatures). */
  private readonly boxLow: Float32Array;
  private readonly boxHigh: Float32Array;
  private readonly normaliser: number;

  private constructor(
    readonly nFeatures: number,
    readonly sampleSize: number,
    readonly extrapolate: boolean,
    /** The three flat arrays, packed here, or nodes already packed (see `nodes`). */
    nodes: NodeArrays | Int32Array,
    roots: Int32Array,
    boxLow: Float32Array,
    boxHigh: Float32Array,
  ) {
    this.roots = roots;
    this.boxLow = boxLow;
    this.boxHigh = boxHigh;
    this.normaliser = averagePathLength(sampleSize);
    if (nodes instanceof Int32Array) {
      this.nodes = nodes;
      this.splits = new Float32Array(nodes.buffer, nodes.byteOffset, nodes.length);
      return;
    }
    const { feature, split, right } = nodes;
    const buffer = new ArrayBuffer(feature.length * 8);
    this.nodes = new Int32Array(buffer);
    this.splits = new Float32Array(buffer);
    for (let i = 0; i < feature.length; i++) {
      const f = feature[i] as number;
      if (f === LEAF) {
        this.nodes[2 * i] = LEAF_WORD;
      } else {
        const step = (right[i] as number) - i;
        if (step < 2 || step > 0xffff)
          throw new InputError(`node ${i} has its right child ${step} nodes away`);
        this.nodes[2 * i] = f | (step << 16);
      }
      this.splits[2 * i + 1] = split[i] as number;
    }
  }

  get trees(): number {
    return this.roots.length;
  }

  get nodeCount(): number {
    return this.nodes.length / 2;
  }

  /** The nodes as the three flat arrays (for renewal, serialization and the complete layout). */
  private unpacked(): NodeArrays {
    const n = this.nodeCount;
    const feature = new Int16Array(n);
    const split = new Float32Array(n);
    const right = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const w = this.nodes[2 * i] as number;
      feature[i] = w === LEAF_WORD ? LEAF : w & FEATURE_BITS;
      right[i] = w === LEAF_WORD ? 0 : i + (w >>> 16);
      split[i] = this.splits[2 * i + 1] as number;
    }
    return { feature, split, right };
  }

  /**
   * A sliding forest: this forest without its oldest `fresh.trees` trees, with `fresh`'s trees
   * appended (newest last). A detector that refits often can grow a quarter of the trees on the
   * latest data each time instead of all of them; after four renewals every tree is new. Both
   * forests must share the feature count, sample size (the score normaliser) and scoring mode.
   */
  renewedWith(fresh: IsolationForest): IsolationForest {
    if (
      fresh.nFeatures !== this.nFeatures ||
      fresh.sampleSize !== this.sampleSize ||
      fresh.extrapolate !== this.extrapolate
    ) {
      throw new InputError(
        `cannot renew a forest (${this.nFeatures} features, sample ${this.sampleSize}) with trees of another shape (${fresh.nFeatures} features, sample ${fresh.sampleSize})`,
      );
    }
    if (fresh.trees >= this.trees) return fresh;
    // Packed nodes point to their right child by distance, so trees move by plain copies.
    const drop = fresh.trees;
    const keptFrom = this.roots[drop] as number;
    const keptNodes = this.nodeCount - keptFrom;
    const nodes = new Int32Array(2 * (keptNodes + fresh.nodeCount));
    nodes.set(this.nodes.subarray(2 * keptFrom));
    nodes.set(fresh.nodes, 2 * keptNodes);
    const keptTrees = this.trees - drop;
    const roots = new Int32Array(keptTrees + fresh.trees);
    for (let t = 0; t < keptTrees; t++) roots[t] = (this.roots[drop + t] as number) - keptFrom;
    for (let t = 0; t < fresh.trees; t++) roots[keptTrees + t] = (fresh.roots[t] as number) + keptNodes;
    const f = this.nFeatures;
    const boxLow = new Float32Array(roots.length * f);
    const boxHigh = new Float32Array(roots.length * f);
    boxLow.set(this.boxLow.subarray(drop * f));
    boxHigh.set(this.boxHigh.subarray(drop * f));
    boxLow.set(fresh.boxLow, keptTrees * f);
    boxHigh.set(fresh.boxHigh, keptTrees * f);
    return new IsolationForest(f, this.sampleSize, this.extrapolate, nodes, roots, boxLow, boxHigh);
  }

  /**
   * Grow a forest on `rows`, a row-major matrix of `rows.length / nFeatures` rows.
   * Throws InputError on an empty or ragged matrix, non-finite values or bad options.
   */
  static fit(rows: Float64Array, nFeatures: number, options: ForestOptions = {}): IsolationForest {
    const trees = options.trees ?? 100;
    const requestedSample = options.sampleSize ?? 256;
    const seed = options.seed ?? 1;
    const extrapolate = options.extrapolate ?? false;
    if (!Number.isInteger(nFeatures) || nFeatures < 1 || nFeatures > 32767) {
      throw new InputError(`nFeatures must be an integer in 1..32767, got ${nFeatures}`);
    }
    if (rows.length === 0 || rows.length % nFeatures !== 0) {
      throw new InputError(
        `rows has ${rows.length} values, which is not a positive multiple of nFeatures=${nFeatures}`,
      );
    }
    if (!Number.isInteger(trees) || trees < 1) {
      throw new InputError(`trees must be a positive integer, got ${trees}`);
    }
    if (!Number.isInteger(requestedSample) || requestedSample < 1 || requestedSample > 32768) {
      throw new InputError(`sampleSize must be an integer in 1..32768, got ${requestedSample}`);
    }
    for (let i = 0; i < rows.length; i++) {
      if (!Number.isFinite(rows[i] as number)) {
        throw new InputError(
          `row ${Math.floor(i / nFeatures)} feature ${i % nFeatures} is not a finite number`,
        );
      }
    }
    const nRows = rows.length / nFeatures;
    const sampleSize = Math.min(requestedSample, nRows);
    const heightLimit = Math.ceil(Math.log2(Math.max(sampleSize, 2)));
    const builder = new TreeBuilder(rows, nFeatures, sampleSize, heightLimit, trees);
    const rng = new Rng(seed);
    if (scratch.permutation.length < nRows) scratch.permutation = new Int32Array(nRows);
    const permutation = scratch.permutation.subarray(0, nRows);
    for (let i = 0; i < nRows; i++) permutation[i] = i;
    const roots = new Int32Array(trees);
    const boxLow = new Float32Array(trees * nFeatures);
    const boxHigh = new Float32Array(trees * nFeatures);
    const fullLow = new Float64Array(nFeatures);
    const fullHigh = new Float64Array(nFeatures);
    for (let t = 0; t < trees; t++) {
      const treeRng = rng.fork();
      // Partial Fisher-Yates: the first sampleSize entries become a uniform sample without
      // replacement; the array need not be reset between trees for that to hold.
      for (let i = 0; i < sampleSize; i++) {
        const j = i + treeRng.int(nRows - i);
        const tmp = permutation[i] as number;
        permutation[i] = permutation[j] as number;
        permutation[j] = tmp;
      }
      const sample = permutation.subarray(0, sampleSize);
      // A tree whose sample is every row (fewer rows than the sample size) has the box of the
      // first such tree: the same rows in another order.
      const sameBox = t > 0 && sampleSize === nRows;
      let constant = 0;
      for (let f = 0; f < nFeatures; f++) {
        let low = Number.POSITIVE_INFINITY;
        let high = Number.NEGATIVE_INFINITY;
        if (sameBox) {
          low = fullLow[f] as number;
          high = fullHigh[f] as number;
        } else {
          for (let i = 0; i < sampleSize; i++) {
            const v = rows[(sample[i] as number) * nFeatures + f] as number;
            if (v < low) low = v;
            if (v > high) high = v;
          }
          // Kept unrounded: boxLow and boxHigh are float32, the test below is on these.
          fullLow[f] = low;
          fullHigh[f] = high;
        }
        boxLow[t * nFeatures + f] = low;
        boxHigh[t * nFeatures + f] = high;
        if (!(high > low)) constant = withConstant(constant, f);
      }
      roots[t] = builder.buildTree(sample, treeRng, constant);
    }
    return new IsolationForest(nFeatures, sampleSize, extrapolate, builder.finish(), roots, boxLow, boxHigh);
  }

  /**
   * Intersection of every tree's box (per feature: highest low, lowest high), and per tree the
   * number of features that vary in its box; built on first use.
   */
  private inner: { low: Float64Array; high: Float64Array; varying: Int32Array } | null = null;
  /** The features of the row being scored that lie outside the inner box, in feature order. */
  private outsideFeatures: Int32Array | null = null;

  private innerBox(): { low: Float64Array; high: Float64Array; varying: Int32Array } {
    if (this.inner !== null) return this.inner;
    const f = this.nFeatures;
    const low = new Float64Array(f).fill(Number.NEGATIVE_INFINITY);
    const high = new Float64Array(f).fill(Number.POSITIVE_INFINITY);
    const varying = new Int32Array(this.roots.length);
    for (let t = 0; t < this.roots.length; t++) {
      for (let k = 0; k < f; k++) {
        const l = this.boxLow[t * f + k] as number;
        const h = this.boxHigh[t * f + k] as number;
        if (l > (low[k] as number)) low[k] = l;
        if (h < (high[k] as number)) high[k] = h;
        if (h > l) varying[t] = (varying[t] as number) + 1;
      }
    }
    this.inner = { low, high, varying };
    return this.inner;
  }

  /**
   * Fills `outsideFeatures` with the features where the row lies outside the inner box and returns
   * how many. Only those can be outside some tree's box, so extrapolation looks at them alone.
   */
  private collectOutside(data: ArrayLike<number>, offset: number): number {
    const { low, high } = this.innerBox();
    let out = this.outsideFeatures;
    if (out === null) {
      out = new Int32Array(this.nFeatures);
      this.outsideFeatures = out;
    }
    let count = 0;
    for (let k = 0; k < this.nFeatures; k++) {
      const v = data[offset + k] as number;
      if (v < (low[k] as number) || v > (high[k] as number)) out[count++] = k;
    }
    return count;
  }

  /** Mean path length of one row (starting at `offset` in `data`) over all trees. */
  pathLength(data: ArrayLike<number>, offset = 0): number {
    const outside = this.extrapolate ? this.collectOutside(data, offset) : 0;
    const extrapolate = outside > 0;
    if (extrapolate && leafPaths.length < this.roots.length) leafPaths = new Float64Array(this.roots.length);
    const paths = leafPaths;
    const nodes = this.nodes;
    const splits = this.splits;
    const roots = this.roots;
    const nTrees = roots.length;
    let total = 0;
    let t = 0;
    // Four trees walked side by side: a forest that is not in cache costs a memory round trip per
    // level, and four independent walks wait for theirs together instead of one after another. A
    // walk at its leaf stays there (stepDown) until all four are.
    for (; t + 3 < nTrees; t += 4) {
      let a = roots[t] as number;
      let b = roots[t + 1] as number;
      let c = roots[t + 2] as number;
      let d = roots[t + 3] as number;
      let wa = nodes[2 * a] as number;
      let wb = nodes[2 * b] as number;
      let wc = nodes[2 * c] as number;
      let wd = nodes[2 * d] as number;
      while ((wa & wb & wc & wd & LEAF_BIT) === 0) {
        a = stepDown(data, offset, splits, a, wa);
        wa = nodes[2 * a] as number;
        b = stepDown(data, offset, splits, b, wb);
        wb = nodes[2 * b] as number;
        c = stepDown(data, offset, splits, c, wc);
        wc = nodes[2 * c] as number;
        d = stepDown(data, offset, splits, d, wd);
        wd = nodes[2 * d] as number;
      }
      const pa = splits[2 * a + 1] as number;
      const pb = splits[2 * b + 1] as number;
      const pc = splits[2 * c + 1] as number;
      const pd = splits[2 * d + 1] as number;
      if (extrapolate) {
        paths[t] = pa;
        paths[t + 1] = pb;
        paths[t + 2] = pc;
        paths[t + 3] = pd;
      } else {
        // Summed in tree order, as the other paths do, so every path gives the same score.
        total += pa;
        total += pb;
        total += pc;
        total += pd;
      }
    }
    for (; t < nTrees; t++) {
      let node = roots[t] as number;
      let w = nodes[2 * node] as number;
      while (w !== LEAF_WORD) {
        node = stepDown(data, offset, splits, node, w);
        w = nodes[2 * node] as number;
      }
      if (extrapolate) paths[t] = splits[2 * node + 1] as number;
      else total += splits[2 * node + 1] as number;
    }
    if (extrapolate) total = this.extrapolatedTotal(paths, data, offset, outside);
    return total / nTrees;
  }

  /**
   * A tree grown with the row included would, at each level, pick one of the features that vary
   * and cut uniformly in its range; the cut isolates the row with probability gap / range for a
   * feature where the row lies outside the sample's box. Taking that per-level chance p as
   * constant (it only grows deeper down, so this is conservative), the isolation depth G is
   * geometric and E[min(G, h)] = (1 - (1 - p)^h) / p, with h the classic path length.
   */
  private extrapolatedTotal(
    /** Each tree's classic path length for the row, in tree order. */
    paths: Float64Array,
    data: ArrayLike<number>,
    offset: number,
    /** How many entries of `outsideFeatures` (from collectOutside) hold this row's candidates. */
    outside: number,
  ): number {
    const nFeatures = this.nFeatures;
    const candidates = this.outsideFeatures as Int32Array;
    const varyingByTree = (this.inner as { varying: Int32Array }).varying;
    const { boxLow, boxHigh } = this;
    // One loop over the trees rather than a call per tree: a call returns its number boxed, and
    // rows outside the training box are a good share of what a detector scores.
    let total = 0;
    for (let tree = 0; tree < this.roots.length; tree++) {
      let path = paths[tree] as number;
      const base = tree * nFeatures;
      let chance = 0;
      // Features inside the inner box are inside this tree's box: they count as varying exactly
      // when the box varies, which innerBox() counted once per tree. Only the candidates can differ.
      let varying = varyingByTree[tree] as number;
      for (let c = 0; c < outside; c++) {
        const f = candidates[c] as number;
        const v = data[offset + f] as number;
        const low = boxLow[base + f] as number;
        const high = boxHigh[base + f] as number;
        if (v < low) {
          chance += (low - v) / (high - v);
          if (!(high > low)) varying++;
        } else if (v > high) {
          chance += (v - high) / (v - low);
          if (!(high > low)) varying++;
        }
      }
      if (chance > 0) {
        const p = chance / varying;
        path = p >= 1 ? Math.min(1, path) : (1 - (1 - p) ** path) / p;
      }
      // Summed in tree order, as the other paths do, so every path gives the same score.
      total += path;
    }
    return total;
  }

  /** Anomaly score in (0, 1]: near 1 is anomalous, well under 0.5 is normal. */
  score(row: ArrayLike<number>, offset = 0): number {
    if (this.normaliser === 0) return 0.5;
    return 2 ** (-this.pathLength(row, offset) / this.normaliser);
  }

  /** Scores of every row of a row-major matrix; writes into `out` when given. */
  scoreMany(rows: Float64Array, out?: Float64Array): Float64Array {
    if (rows.length % this.nFeatures !== 0) {
      throw new InputError(`rows has ${rows.length} values, not a multiple of nFeatures=${this.nFeatures}`);
    }
    const n = rows.length / this.nFeatures;
    const result = out ?? new Float64Array(n);
    if (result.length < n) throw new InputError(`out has room for ${result.length} scores, need ${n}`);
    if (this.normaliser === 0) {
      result.fill(0.5, 0, n);
      return result;
    }
    const full = n >= FULL_LAYOUT_MIN_ROWS ? this.fullLayout() : null;
    if (this.extrapolate) {
      if (full === null) {
        for (let i = 0; i < n; i++) result[i] = this.score(rows, i * this.nFeatures);
        return result;
      }
      this.scoreRangeAware(full, rows, n, result);
      return result;
    }
    if (full !== null) {
      scoreFull(full, rows, this.nFeatures, n, this.normaliser, result);
      return result;
    }
    // Blocks of rows, tree by tree, so one tree's nodes and one block of rows stay in cache while
    // the block is walked down that tree.
    const { nodes, splits, roots, nFeatures } = this;
    const nTrees = roots.length;
    const normaliser = this.normaliser;
    for (let blockStart = 0; blockStart < n; blockStart += SCORE_BLOCK) {
      const blockEnd = Math.min(n, blockStart + SCORE_BLOCK);
      for (let i = blockStart; i < blockEnd; i++) result[i] = 0;
      for (let t = 0; t < nTrees; t++) {
        const root = roots[t] as number;
        for (let i = blockStart, offset = blockStart * nFeatures; i < blockEnd; i++, offset += nFeatures) {
          let node = root;
          let w = nodes[2 * node] as number;
          while (w !== LEAF_WORD) {
            node = stepDown(rows, offset, splits, node, w);
            w = nodes[2 * node] as number;
          }
          result[i] = (result[i] as number) + (splits[2 * node + 1] as number);
        }
      }
      for (let i = blockStart; i < blockEnd; i++)
        result[i] = 2 ** (-((result[i] as number) / nTrees) / normaliser);
    }
    return result;
  }

  /**
   * Range-aware batch scoring in blocks. A row inside every tree's box scores exactly as in the
   * classic forest, and the boxes' intersection tells that in one test per feature: those rows
   * (nearly all of them, the box of a 256-row sample spans almost the whole data) go through the
   * complete-layout block path; the few outside some box take the per-row path with its
   * extrapolation. Scores are bit-for-bit those of `score`.
   */
  private scoreRangeAware(full: FullLayout, rows: Float64Array, n: number, result: Float64Array): void {
    const f = this.nFeatures;
    const inside = new Int32Array(n);
    let count = 0;
    for (let i = 0; i < n; i++) {
      const outside = this.collectOutside(rows, i * f);
      if (outside === 0) inside[count++] = i;
      else result[i] = this.scoreOutside(full, rows, i * f, outside);
    }
    if (count === n) {
      scoreFull(full, rows, f, n, this.normaliser, result);
      return;
    }
    const packed = new Float64Array(count * f);
    for (let j = 0; j < count; j++)
      packed.set(rows.subarray((inside[j] as number) * f, (inside[j] as number) * f + f), j * f);
    const packedScores = new Float64Array(count);
    scoreFull(full, packed, f, count, this.normaliser, packedScores);
    for (let j = 0; j < count; j++) result[inside[j] as number] = packedScores[j] as number;
  }

  /**
   * One row outside some tree's box: each tree walked on the complete layout (no branch per
   * level), then corrected for extrapolation where the row is outside that tree's box. The same
   * sums in the same order as `pathLength`, so the same score.
   */
  private scoreOutside(full: FullLayout, rows: Float64Array, offset: number, outside: number): number {
    const { height, trees, feature, split, leaf } = full;
    const internal = (1 << height) - 1;
    if (leafPaths.length < trees) leafPaths = new Float64Array(trees);
    for (let t = 0; t < trees; t++) {
      const nodes = t * internal;
      let at = 0;
      for (let level = 0; level < height; level++) at = descend(rows, offset, feature, split, nodes, at);
      leafPaths[t] = leaf[t * (internal + 1) + at - internal] as number;
    }
    const total = this.extrapolatedTotal(leafPaths, rows, offset, outside);
    return 2 ** (-(total / trees) / this.normaliser);
  }

  /**
   * The trees re-laid as complete binary trees of one height, for batch scoring; null when a tree
   * is deeper than FULL_LAYOUT_MAX_HEIGHT (a sample size over 1024, or a hand-made model). Built per
   * call rather than kept, since the detector holds a forest per service and this doubles its size.
   */
  private fullLayout(): FullLayout | null {
    const height = Math.ceil(Math.log2(Math.max(this.sampleSize, 2)));
    if (height > FULL_LAYOUT_MAX_HEIGHT) return null;
    const internal = (1 << height) - 1;
    const leaves = 1 << height;
    const nTrees = this.roots.length;
    const arrays = this.unpacked();
    const layout: FullLayout = {
      height,
      trees: nTrees,
      feature: new Int16Array(nTrees * internal),
      split: new Float32Array(nTrees * internal),
      leaf: new Float32Array(nTrees * leaves),
    };
    for (let t = 0; t < nTrees; t++) {
      if (!fillFull(arrays, layout, t, this.roots[t] as number, 0, 0)) return null;
    }
    return layout;
  }

  /**
   * Compact binary form: a 32-byte header (magic, format version, sizes, checksum), then the
   * roots, split values, right-child indices, features and the per-tree boxes. About 10 bytes
   * per node.
   */
  serialize(): Uint8Array {
    const nTrees = this.roots.length;
    const { feature, split, right } = this.unpacked();
    const nNodes = feature.length;
    const featureBytes = align4(nNodes * 2);
    const boxBytes = 8 * nTrees * this.nFeatures;
    const total = HEADER_BYTES + 4 * nTrees + 4 * nNodes + 4 * nNodes + featureBytes + boxBytes;
    const bytes = new Uint8Array(total);
    const view = new DataView(bytes.buffer);
    let at = HEADER_BYTES;
    for (let i = 0; i < nTrees; i++, at += 4) view.setInt32(at, this.roots[i] as number, true);
    for (let i = 0; i < nNodes; i++, at += 4) view.setFloat32(at, split[i] as number, true);
    for (let i = 0; i < nNodes; i++, at += 4) view.setInt32(at, right[i] as number, true);
    for (let i = 0; i < nNodes; i++, at += 2) view.setInt16(at, feature[i] as number, true);
    at = HEADER_BYTES + 4 * nTrees + 8 * nNodes + featureBytes;
    for (let i = 0; i < this.boxLow.length; i++, at += 4) view.setFloat32(at, this.boxLow[i] as number, true);
    for (let i = 0; i < this.boxHigh.length; i++, at += 4)
      view.setFloat32(at, this.boxHigh[i] as number, true);
    view.setUint32(0, FORMAT_MAGIC, true);
    view.setUint16(4, FORMAT_VERSION, true);
    view.setUint16(6, this.extrapolate ? 1 : 0, true);
    view.setUint32(8, this.nFeatures, true);
    view.setUint32(12, this.sampleSize, true);
    view.setUint32(16, nTrees, true);
    view.setUint32(20, nNodes, true);
    view.setUint32(24, fnv1a32Bytes(bytes, HEADER_BYTES), true);
    return bytes;
  }

  /** serialize() as base64, for JSON snapshots and environment variables. */
  toBase64(): string {
    return Buffer.from(this.serialize()).toString("base64");
  }

  static fromBase64(text: string): IsolationForest {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
      throw new InputError("model is not a base64 string");
    }
    return IsolationForest.deserialize(new Uint8Array(Buffer.from(text, "base64")));
  }

  /** Load a model written by serialize(); throws InputError naming what is wrong with it. */
  static deserialize(bytes: Uint8Array): IsolationForest {
    if (bytes.length < HEADER_BYTES) {
      throw new InputError(`model is ${bytes.length} bytes, shorter than its ${HEADER_BYTES}-byte header`);
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== FORMAT_MAGIC)
      throw new InputError("not an isolation forest model (bad magic)");
    const version = view.getUint16(4, true);
    if (version !== FORMAT_VERSION) {
      throw new InputError(`model format version ${version} is not supported (expected ${FORMAT_VERSION})`);
    }
    const nFeatures = view.getUint32(8, true);
    const sampleSize = view.getUint32(12, true);
    const nTrees = view.getUint32(16, true);
    const nNodes = view.getUint32(20, true);
    if (nFeatures < 1 || nFeatures > 32767 || sampleSize < 1 || nTrees < 1 || nNodes < nTrees) {
      throw new InputError("model header has impossible sizes");
    }
    const flags = view.getUint16(6, true);
    if (flags > 1) throw new InputError(`model has unknown flags ${flags}`);
    const expected = HEADER_BYTES + 4 * nTrees + 8 * nNodes + align4(nNodes * 2) + 8 * nTrees * nFeatures;
    if (bytes.length !== expected) {
      throw new InputError(
        `model is ${bytes.length} bytes, its header promises ${expected} (truncated or padded)`,
      );
    }
    if (view.getUint32(24, true) !== fnv1a32Bytes(bytes, HEADER_BYTES)) {
      throw new InputError("model checksum mismatch (corrupted)");
    }
    const roots = new Int32Array(nTrees);
    const split = new Float32Array(nNodes);
    const right = new Int32Array(nNodes);
    const feature = new Int16Array(nNodes);
    let at = HEADER_BYTES;
    for (let i = 0; i < nTrees; i++, at += 4) roots[i] = view.getInt32(at, true);
    for (let i = 0; i < nNodes; i++, at += 4) split[i] = view.getFloat32(at, true);
    for (let i = 0; i < nNodes; i++, at += 4) right[i] = view.getInt32(at, true);
    for (let i = 0; i < nNodes; i++, at += 2) feature[i] = view.getInt16(at, true);
    at = HEADER_BYTES + 4 * nTrees + 8 * nNodes + align4(nNodes * 2);
    const boxLow = new Float32Array(nTrees * nFeatures);
    const boxHigh = new Float32Array(nTrees * nFeatures);
    for (let i = 0; i < boxLow.length; i++, at += 4) boxLow[i] = view.getFloat32(at, true);
    for (let i = 0; i < boxHigh.length; i++, at += 4) boxHigh[i] = view.getFloat32(at, true);
    validateStructure(nFeatures, feature, right, roots);
    return new IsolationForest(
      nFeatures,
      sampleSize,
      flags === 1,
      { feature, split, right },
      roots,
      boxLow,
      boxHigh,
    );
  }
}

/**
 * A checksum only catches accidents; this also guarantees every traversal ends inside its tree
 * (children strictly after their parent, within the tree's node range), so a crafted model
 * cannot make scoring loop or read out of bounds.
 */
function validateStructure(
  nFeatures: number,
  feature: Int16Array,
  right: Int32Array,
  roots: Int32Array,
): void {
  for (let t = 0; t < roots.length; t++) {
    const start = roots[t] as number;
    const end = t + 1 < roots.length ? (roots[t + 1] as number) : feature.length;
    if (start < 0 || end > feature.length || start >= end)
      throw new InputError(`tree ${t} has a bad node range`);
    for (let i = start; i < end; i++) {
      const f = feature[i] as number;
      if (f === LEAF) continue;
      if (f < 0 || f >= nFeatures)
        throw new InputError(`node ${i} tests feature ${f}, model has ${nFeatures}`);
      const r = right[i] as number;
      if (i + 1 >= end || r <= i + 1 || r >= end)
        throw new InputError(`node ${i} has children outside its tree`);
    }
  }
}

/**
 * The growable node buffer every fit builds its trees in, kept between fits (a fit runs to the end
 * before the next starts, and the forest copies out the nodes it grew). A detector with a
 * thousand services fits thousands of times: fresh arrays per fit (about 0.5 MB for 100 trees,
 * plus their trimmed copies) were most of its ArrayBuffer churn, and V8 answers external memory
 * growth with a mark-compact it must finish at once, on the event that happens to be running
 * (see "ML detector at fleet size" in docs/benchmarks.md). Holds 8 bytes per node of the largest
 * forest fitted so far, plus a few numbers per sample row.
 */
const scratch = {
  /** Nodes in the packed form of IsolationForest.nodes; `splits` is the same buffer as float32. */
  nodes: new Int32Array(0),
  splits: new Float32Array(0),
  permutation: new Int32Array(0),
  values: new Float64Array(0),
  /** averagePathLength(n) for n = 0, 1, ...: a leaf per few rows otherwise takes a Math.log each. */
  pathLengths: new Float64Array(0),
};

/**
 * A set of features as a bit mask, for the first 31 features (an int32 bit each); a feature past
 * them is never marked, which only means its rows get scanned.
 */
function withConstant(constant: number, feature: number): number {
  return feature < 31 ? constant | (1 << feature) : constant;
}

function isConstant(constant: number, feature: number): boolean {
  return feature < 31 && ((constant >>> feature) & 1) === 1;
}

/**
 * Grows trees into the shared growable buffer (`scratch`), already packed as the forest keeps them:
 * a fit then copies its nodes out in one piece instead of packing them node by node.
 */
class TreeBuilder {
  private nodes: Int32Array<ArrayBuffer>;
  private splits: Float32Array<ArrayBuffer>;
  private count = 0;
  private readonly candidates: Int32Array;
  /** The split feature's value of each sample position, filled node by node as it is scanned. */
  private readonly values: Float64Array;
  private readonly pathLengths: Float64Array;

  constructor(
    private readonly rows: Float64Array,
    private readonly nFeatures: number,
    sampleSize: number,
    private readonly heightLimit: number,
    trees: number,
  ) {
    const estimate = Math.max(16, trees * Math.min(2 * sampleSize, 2 ** (heightLimit + 1)));
    if (scratch.nodes.length < 2 * estimate) {
      scratch.nodes = new Int32Array(2 * estimate);
      scratch.splits = new Float32Array(scratch.nodes.buffer);
    }
    this.nodes = scratch.nodes;
    this.splits = scratch.splits;
    this.candidates = new Int32Array(nFeatures);
    if (scratch.values.length < sampleSize) scratch.values = new Float64Array(sampleSize);
    this.values = scratch.values;
    if (scratch.pathLengths.length <= sampleSize) {
      scratch.pathLengths = new Float64Array(sampleSize + 1);
      for (let n = 0; n <= sampleSize; n++) scratch.pathLengths[n] = averagePathLength(n);
    }
    this.pathLengths = scratch.pathLengths;
  }

  /** `constant`: features known not to vary in the sample (see withConstant). */
  buildTree(sample: Int32Array, rng: Rng, constant: number): number {
    const root = this.count;
    this.grow(sample, 0, sample.length, 0, rng, constant);
    return root;
  }

  /** The packed nodes grown so far, copied out of the scratch buffer. */
  finish(): Int32Array {
    return this.nodes.slice(0, 2 * this.count);
  }

  private allocate(): number {
    if (2 * this.count === this.nodes.length) {
      const nodes = new Int32Array(this.nodes.length * 2);
      nodes.set(this.nodes);
      this.nodes = nodes;
      this.splits = new Float32Array(nodes.buffer);
      scratch.nodes = nodes;
      scratch.splits = this.splits;
    }
    return this.count++;
  }

  private leaf(node: number, depth: number, size: number): void {
    this.nodes[2 * node] = LEAF_WORD;
    this.splits[2 * node + 1] = depth + (this.pathLengths[size] as number);
  }

  /**
   * Grows the subtree over sample[from, to) and returns its root index. `constant` holds features
   * known not to vary in these rows (see withConstant): a feature that does not vary in a node
   * does not vary in its children, so a draw of it is turned down without scanning the rows again.
   * The draws are the same, so the tree is too.
   */
  private grow(
    sample: Int32Array,
    from: number,
    to: number,
    depth: number,
    rng: Rng,
    constant: number,
  ): number {
    const node = this.allocate();
    const size = to - from;
    if (depth >= this.heightLimit || size <= 1) {
      this.leaf(node, depth, size);
      return node;
    }
    const { rows, nFeatures, candidates, values } = this;
    // The split feature is uniform among the features that vary in the node. Rather than the
    // range of every feature, draw features in random order and scan only until one varies: the
    // same distribution, and usually one column read instead of all of them.
    for (let f = 0; f < nFeatures; f++) candidates[f] = f;
    let remaining = nFeatures;
    while (remaining > 0) {
      const pick = rng.int(remaining);
      const f = candidates[pick] as number;
      candidates[pick] = candidates[remaining - 1] as number;
      candidates[remaining - 1] = f;
      remaining--;
      if (isConstant(constant, f)) continue;
      let low = Number.POSITIVE_INFINITY;
      let high = Number.NEGATIVE_INFINITY;
      // The column is copied as it is scanned, so the partition below reads it in order instead
      // of through the sample index again.
      for (let i = from; i < to; i++) {
        const v = rows[(sample[i] as number) * nFeatures + f] as number;
        values[i] = v;
        if (v < low) low = v;
        if (v > high) high = v;
      }
      if (!(high > low)) {
        constant = withConstant(constant, f);
        continue;
      }
      // Splits are stored as float32; a value between two rows closer than float32 resolution can
      // round onto one of them. Try a few draws before moving on to another feature.
      for (let attempt = 0; attempt < 4; attempt++) {
        const cut = Math.fround(low + (high - low) * rng.next());
        if (!(cut > low && cut <= high)) continue;
        // Partition in place: rows with value < cut to the front, each one swapped with the first
        // row at or above the cut. Arithmetic on the comparison rather than a branch (which
        // mispredicts about half the time near the root); the rows end in the same order as the
        // branching swap leaves them, so the next tree draws the same sample. Position i is not
        // yet moved when it is read (swaps only touch mid <= i), so values[i] is its value.
        let mid = from;
        for (let i = from; i < to; i++) {
          const idx = sample[i] as number;
          const atMid = sample[mid] as number;
          const below = +((values[i] as number) < cut);
          sample[i] = idx + below * (atMid - idx);
          sample[mid] = atMid + below * (idx - atMid);
          mid += below;
        }
        if (mid === from || mid === to) continue;
        this.grow(sample, from, mid, depth + 1, rng, constant);
        const step = this.grow(sample, mid, to, depth + 1, rng, constant) - node;
        if (step > 0xffff) throw new InputError(`node ${node} has its right child ${step} nodes away`);
        // Growing may reallocate the buffer, so write the node only after its children.
        this.nodes[2 * node] = f | (step << 16);
        this.splits[2 * node + 1] = cut;
        return node;
      }
    }
    this.leaf(node, depth, size);
    return node;
  }
}

/**
 * Copy the subtree at `node` to position `at` (heap order: children at 2at+1 and 2at+2) of tree
 * `t`. A leaf above the bottom becomes pass-through nodes whose every path ends in a copy of its
 * path length, so each row takes exactly `height` steps. False if the subtree is too deep.
 */
function fillFull(
  arrays: NodeArrays,
  layout: FullLayout,
  t: number,
  node: number,
  at: number,
  depth: number,
): boolean {
  const internal = (1 << layout.height) - 1;
  const isLeaf = arrays.feature[node] === LEAF;
  if (depth === layout.height) {
    if (!isLeaf) return false;
    layout.leaf[t * (internal + 1) + at - internal] = arrays.split[node] as number;
    return true;
  }
  if (isLeaf) {
    // Either way leads to the same copies; feature 0 and split 0 are as good as any.
    return (
      fillFull(arrays, layout, t, node, 2 * at + 1, depth + 1) &&
      fillFull(arrays, layout, t, node, 2 * at + 2, depth + 1)
    );
  }
  layout.feature[t * internal + at] = arrays.feature[node] as number;
  layout.split[t * internal + at] = arrays.split[node] as number;
  return (
    fillFull(arrays, layout, t, node + 1, 2 * at + 1, depth + 1) &&
    fillFull(arrays, layout, t, arrays.right[node] as number, 2 * at + 2, depth + 1)
  );
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
