package org.distill4j.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.distill4j.DistillException;
import org.distill4j.Json;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.OnnxExport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Writes a model as an ONNX file that ONNX Runtime (and the serving API's ONNX backend) runs. */
@Command(name = "export", description = "Write a model as ONNX (HuggingFace's input and output names, dynamic batch and "
        + "sequence), with tokenizer.json, config.json and distill.json beside it; --int8 for dynamic quantization.")
final class ExportCommand implements Runnable {

    @Option(names = "--model", required = true, paramLabel = "MODEL", description = "builtin:NAME, .onnx or directory")
    String model;

    @Option(names = "--out", required = true, paramLabel = "FILE.onnx", description = "the ONNX file to write")
    Path out;

    @Option(names = "--int8", description = "int8 weights with dynamic activation quantization "
            + "(DynamicQuantizeLinear -> MatMulInteger), as ONNX Runtime's quantize_dynamic")
    boolean int8;

    @Option(names = "--per-tensor", description = "with --int8: one scale per weight matrix instead of one per output "
            + "column (smaller differences from fp32 per column)")
    boolean perTensor;

    @Override
    public void run() {
        if (!out.getFileName().toString().endsWith(".onnx")) {
            throw new DistillException("--out must name a .onnx file, got " + out);
        }
        if (perTensor && !int8) {
            throw new DistillException("--per-tensor applies to --int8 only");
        }
        Checkpoint ckpt = Checkpoint.load(model);
        warnIfTrainedForOtherRounding();
        OnnxExport.Options options = int8 ? new OnnxExport.Options(OnnxExport.Precision.INT8, !perTensor)
                : OnnxExport.Options.FP32;
        OnnxExport.write(ckpt, out, options);
        Path dir = out.toAbsolutePath().getParent();
        try {
            Files.write(dir.resolve("tokenizer.json"), ckpt.tokenizerJson());
            ckpt.config().write(dir.resolve("config.json"));
            Path info = Path.of(model).resolve("distill.json");
            if (!model.startsWith("builtin:") && Files.isRegularFile(info)
                    && !info.toAbsolutePath().normalize().equals(dir.resolve("distill.json").normalize())) {
                Files.copy(info, dir.resolve("distill.json"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new DistillException("Cannot write beside " + out + ": " + e.getMessage(), e);
        }
        System.out.printf("wrote %s (%s, %d layers, hidden %d, %s, %.1f MB) with tokenizer.json and config.json%n",
                out, ckpt.name(), ckpt.config().numHiddenLayers(), ckpt.config().hiddenSize(),
                int8 ? (perTensor ? "int8 per tensor" : "int8 per column") : "fp32", sizeMb(out));
    }

    /**
     * A model trained for int8 (a recipe's {@code qat:}) was selected by the score of one rounding:
     * say so when the export asks for fp32 or the other weight granularity.
     */
    private void warnIfTrainedForOtherRounding() {
        Path info = Path.of(model).resolve("distill.json");
        if (model.startsWith("builtin:") || !Files.isRegularFile(info)) {
            return;
        }
        JsonNode qat;
        try {
            qat = Json.MAPPER.readTree(info.toFile()).path("quantization_aware");
        } catch (IOException e) {
            throw new DistillException("Cannot read " + info + ": " + e.getMessage(), e);
        }
        if (qat.isMissingNode()) {
            return;
        }
        boolean trainedPerTensor = qat.path("per_tensor").asBoolean(false);
        String trained = "--int8" + (trainedPerTensor ? " --per-tensor" : "");
        if (!int8) {
            System.err.println("note: " + model + " was trained for int8 (" + trained + "); its dev score is that of "
                    + "the int8 export");
        } else if (trainedPerTensor != perTensor) {
            System.err.println("warning: " + model + " was trained for " + trained + " but is exported with "
                    + (perTensor ? "--int8 --per-tensor" : "--int8 (per column)") + ": the weights were fitted to the "
                    + "other rounding");
        }
    }

    private static double sizeMb(Path p) {
        try {
            return Files.size(p) / 1e6;
        } catch (IOException e) {
            return Double.NaN;
        }
    }
}
