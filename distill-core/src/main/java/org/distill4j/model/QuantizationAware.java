package org.distill4j.model;

import java.util.ArrayList;
import java.util.List;

/**
 * Quantization-aware training on one model: every projection the int8 export quantizes (those of
 * the encoder's layers) becomes a {@link FakeQuantLinear}, and the word embeddings are rounded per
 * row as the export stores them. The pooler and task head stay fp32, as in the export. Training then
 * fits the weights to int8 rounding, for models whose post-training int8 export loses too much.
 */
public final class QuantizationAware {

    private QuantizationAware() {}

    /**
     * Puts int8 rounding on {@code model}'s encoder.
     *
     * @param perTensor one scale per weight matrix (export {@code --per-tensor}); else per output column
     * @return the number of projections wrapped
     */
    public static int attach(BertModel model, boolean perTensor) {
        List<String> paths = new ArrayList<>();
        model.modules().forEach((path, m) -> {
            if (path.startsWith("encoder.layer.") && m instanceof LinearProjection) {
                if (m instanceof FakeQuantLinear) {
                    throw new IllegalArgumentException(path + " is already trained for int8");
                }
                paths.add(path);
            }
        });
        for (String path : paths) {
            model.replace(path, base -> new FakeQuantLinear(base, perTensor));
        }
        model.encoder().embeddings().quantizeWords(true);
        return paths.size();
    }
}
