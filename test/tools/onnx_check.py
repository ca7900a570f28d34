"""Run the ONNX checker with full_check (strict shape inference) on each model file given.

Prints one line per file, `ok PATH` or `fail PATH: reason`, then exits non-zero if any failed.
With --probe, prints the onnx version and exits (the test uses it to see whether onnx is present).
"""
import sys

import onnx


def main(paths):
    if paths == ["--probe"]:
        print(onnx.__version__)
        return 0
    failed = 0
    for path in paths:
        try:
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            print(f"ok {path} ir={model.ir_version} opset={model.opset_import[0].version}")
        except Exception as err:  # the checker raises several exception types
            failed += 1
            print(f"fail {path}: {str(err).splitlines()[0] if str(err) else type(err).__name__}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
