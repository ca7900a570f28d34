/**
 * A small builder of ONNX graphs over the `onnx-proto` message classes: unique value names,
 * initializers, nodes with typed attributes, and subgraphs (a Loop body) that share the root's
 * names and initializers. It knows nothing of hti's models; src/export/onnx.ts says what to build.
 */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
type Onnx = typeof onnxProto.onnx;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type ModelProto = onnxProto.onnx.IModelProto;

const DataType: Onnx['TensorProto']['DataType'] = onnx.TensorProto.DataType;
const AttributeType: Onnx['AttributeProto']['AttributeType'] = onnx.AttributeProto.AttributeType;

export type ElemType = 'float' | 'int64' | 'bool';
const ELEM: Record<ElemType, number> = { float: DataType.FLOAT, int64: DataType.INT64, bool: DataType.BOOL };

/** A node attribute, tagged by its ONNX type. */
export type Attr = { int: number } | { float: number } | { ints: number[] } | { graph: GraphProto };

/** A dimension: a fixed size, or a named symbolic size (e.g. 'N'). */
export type Dim = number | string;

/** A graph input or output: element type and shape (the checker requires a shape on the main graph's). */
export function valueInfo(name: string, elem: ElemType, shape: Dim[], doc?: string): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: ELEM[elem], shape: { dim } } }, ...(doc ? { docString: doc } : {}) };
}

function attribute(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  if ('int' in a) return { name, type: AttributeType.INT, i: a.int };
  if ('float' in a) return { name, type: AttributeType.FLOAT, f: a.float };
  if ('ints' in a) return { name, type: AttributeType.INTS, ints: a.ints };
  return { name, type: AttributeType.GRAPH, g: a.graph };
}

/** Names shared by a root graph and its subgraphs: ONNX wants every value name unique in scope. */
class Scope {
  private readonly used = new Map<string, number>();
  readonly initializers: TensorProto[] = [];
  readonly constants = new Map<string, string>();

  fresh(hint: string): string {
    const n = this.used.get(hint) ?? 0;
    this.used.set(hint, n + 1);
    return n === 0 ? hint : `${hint}_${n}`;
  }
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  private readonly scope: Scope;

  constructor(parent?: GraphBuilder) {
    this.scope = parent ? parent.scope : new Scope();
  }

  /** A builder for a subgraph: it may read any value of this graph, and its constants live here. */
  subgraph(): GraphBuilder {
    return new GraphBuilder(this);
  }

  fresh(hint: string): string {
    return this.scope.fresh(hint);
  }

  /** A float32 initializer. */
  floats(hint: string, values: ArrayLike<number>, dims: number[]): string {
    const data = Float32Array.from(values);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer ${hint}: ${data.length} values for shape [${dims}]`);
    const name = this.fresh(hint);
    this.scope.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An int64 initializer. */
  ints(hint: string, values: ArrayLike<number>, dims: number[]): string {
    const name = this.fresh(hint);
    this.scope.initializers.push({ name, dims, dataType: DataType.INT64, int64Data: Array.from(values) });
    return name;
  }

  /** A scalar constant, shared by every use of the same value and type. */
  scalar(value: number, elem: 'float' | 'int64' = 'float'): string {
    const key = `${elem}:${Object.is(value, -0) ? '-0' : String(value)}`;
    let name = this.scope.constants.get(key);
    if (!name) {
      name = elem === 'float' ? this.floats('c', [value], []) : this.ints('ci', [value], []);
      this.scope.constants.set(key, name);
    }
    return name;
  }

  /** A 1-D int64 constant (shapes, axes), shared like scalars. */
  shape(values: number[]): string {
    const key = `shape:${values.join(',')}`;
    let name = this.scope.constants.get(key);
    if (!name) {
      name = this.ints('shape', values, [values.length]);
      this.scope.constants.set(key, name);
    }
    return name;
  }

  /** Add a node with one output; returns the output's name. */
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, hint = type.toLowerCase()): string {
    return this.opMulti(type, inputs, 1, attrs, hint)[0];
  }

  /** Add a node with `outputs` outputs. */
  opMulti(type: string, inputs: string[], outputs: number, attrs: Record<string, Attr> = {}, hint = type.toLowerCase()): string[] {
    const out = Array.from({ length: outputs }, () => this.fresh(hint));
    this.nodes.push({
      opType: type,
      input: inputs,
      output: out,
      name: this.fresh(`n_${hint}`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** Rename a value by an Identity node (graph outputs with chosen names). */
  identity(input: string, name: string): string {
    this.nodes.push({ opType: 'Identity', input: [input], output: [name], name: this.fresh(`n_${name}`) });
    return name;
  }

  /** This builder's nodes as a graph; the root graph carries every initializer. */
  graph(name: string, inputs: ValueInfoProto[], outputs: ValueInfoProto[], root: boolean, doc?: string): GraphProto {
    return {
      name,
      node: this.nodes,
      input: inputs,
      output: outputs,
      initializer: root ? this.scope.initializers : [],
      ...(doc ? { docString: doc } : {}),
    };
  }

  // Arithmetic shorthands (numpy-style broadcasting, as ONNX does).
  add(a: string, b: string): string {
    return this.op('Add', [a, b]);
  }
  sub(a: string, b: string): string {
    return this.op('Sub', [a, b]);
  }
  mul(a: string, b: string): string {
    return this.op('Mul', [a, b]);
  }
  div(a: string, b: string): string {
    return this.op('Div', [a, b]);
  }
  matmul(a: string, b: string): string {
    return this.op('MatMul', [a, b]);
  }
  cast(a: string, to: ElemType): string {
    return this.op('Cast', [a], { to: { int: ELEM[to] } });
  }
  concat(values: string[], axis: number): string {
    return values.length === 1 ? values[0] : this.op('Concat', values, { axis: { int: axis } });
  }
  reshape(a: string, dims: number[]): string {
    return this.op('Reshape', [a, this.shape(dims)]);
  }
  /** Columns [from, to) of a [N, W] value. */
  columns(a: string, from: number, to: number): string {
    return this.op('Slice', [a, this.shape([from]), this.shape([to]), this.shape([1])]);
  }
  /** Clamp into [lo, hi] (names of scalar values). */
  clip(a: string, lo: string, hi: string): string {
    return this.op('Clip', [a, lo, hi]);
  }
  where(cond: string, a: string, b: string): string {
    return this.op('Where', [cond, a, b]);
  }
}

/** Serialise a model with the onnx-proto message classes. */
export function encodeModel(model: ModelProto): Uint8Array {
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`internal error: the ONNX model does not verify (${err})`);
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}

/** Parse a serialised model (tests and tools read the metadata back). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
