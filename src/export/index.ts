/** Fitted surrogates in formats other tools run: ONNX (one graph per model). */
export * from './onnx.js';
