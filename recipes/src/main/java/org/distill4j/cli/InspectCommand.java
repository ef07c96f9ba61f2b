package org.distill4j.cli;

import ai.djl.nn.Parameter;
import ai.djl.ndarray.NDManager;
import java.util.LinkedHashMap;
import java.util.Map;
import org.distill4j.model.BertConfig;
import org.distill4j.model.BertModel;
import org.distill4j.weights.Checkpoint;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** Shows a model's config and where its parameters are. */
@Command(name = "inspect", description = "Show a model's config and parameter count by part.")
final class InspectCommand implements Runnable {

    @Parameters(paramLabel = "MODEL", description = "builtin:NAME, a .onnx file or a model directory")
    String model;

    @Override
    public void run() {
        Checkpoint ckpt = Checkpoint.load(model);
        BertConfig c = ckpt.config();
        System.out.println("model        " + ckpt.name());
        System.out.printf("shape        %d layers, hidden %d, %d heads (head size %d), FFN %d%n", c.numHiddenLayers(),
                c.hiddenSize(), c.numAttentionHeads(), c.attentionHeadSize(), c.intermediateSize());
        System.out.printf("vocabulary   %d word pieces, %d positions, %d token types%n", c.vocabSize(),
                c.maxPositionEmbeddings(), c.typeVocabSize());
        System.out.printf("layer norm   eps %.0e; dropout hidden %.2f, attention %.2f%n", c.layerNormEps(),
                c.hiddenDropoutProb(), c.attentionProbsDropoutProb());
        BertModel.Heads h = ckpt.weights().heads();
        System.out.printf("heads        pooler %s, masked-LM %s, task outputs %d%n", yes(h.pooler()), yes(h.maskedLm()),
                h.taskOutputs());
        try (NDManager m = NDManager.newBaseManager(); BertModel bert = BertModel.create(c, h, m)) {
            Map<String, Long> parts = new LinkedHashMap<>();
            for (Map.Entry<String, Parameter> e : bert.namedParameters().entrySet()) {
                parts.merge(part(e.getKey()), e.getValue().getShape().size(), Long::sum);
            }
            System.out.println("parameters");
            parts.forEach((k, v) -> System.out.printf("  %-22s %,14d%n", k, v));
            System.out.printf("  %-22s %,14d%n", "total", bert.parameterCount());
        }
    }

    private static String part(String name) {
        if (name.startsWith("embeddings.")) {
            return "embeddings";
        }
        if (name.startsWith("encoder.layer.")) {
            return "layer " + name.split("\\.")[2];
        }
        if (name.startsWith("cls.predictions")) {
            return "masked-LM head";
        }
        return name.substring(0, name.indexOf('.')) + (name.startsWith("classifier") ? " head" : "");
    }

    private static String yes(boolean b) {
        return b ? "yes" : "no";
    }
}
