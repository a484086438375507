"""An ONNX Runtime CPU session at a thread count, as the encoder benchmarks run it."""

import onnxruntime as ort


def cpu_session(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
