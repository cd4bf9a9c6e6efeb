// Shapes of the records in bench/conformance/fixtures/nn.json (written by bench/conformance/fixtures/gen_nn.py).
export interface Arr {
  shape: number[];
  data: number[];
}

/** One module case: input, output and the VJPs for a stored upstream gradient. */
export interface Case {
  name: string;
  train: boolean;
  input: Arr;
  out: Arr;
  gradOut: Arr;
  gradInput: Arr;
  grads: Record<string, Arr>;
  buffers: Record<string, Arr>;
}
