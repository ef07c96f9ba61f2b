package org.distill4j.integrations;

import dev.langchain4j.data.embedding.Embedding;
import dev.langchain4j.data.segment.TextSegment;
import dev.langchain4j.model.embedding.EmbeddingModel;
import dev.langchain4j.model.output.Response;
import dev.langchain4j.model.output.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import org.distill4j.serve.InferenceOptions;
import org.distill4j.serve.Pooling;
import org.distill4j.serve.TextEmbedder;

/**
 * A distill4j model as langchain4j's {@link EmbeddingModel}: drop a distilled student into an
 * embedding store, a RAG pipeline or anything else that takes one.
 *
 * <pre>{@code
 * EmbeddingModel model = DistillEmbeddingModel.load("runs/student/best", Pooling.MEAN);
 * Embedding e = model.embed("some text").content();
 * }</pre>
 *
 * Vectors are L2-normalised, as langchain4j's own local models return them. Thread-safe; close it
 * to free the model's native memory.
 */
public final class DistillEmbeddingModel implements EmbeddingModel, AutoCloseable {

    private final TextEmbedder embedder;

    public DistillEmbeddingModel(TextEmbedder embedder) {
        this.embedder = embedder;
    }

    /** Loads any model string the CLI takes with default options (DJL, the model's length). */
    public static DistillEmbeddingModel load(String model, Pooling pooling) {
        return new DistillEmbeddingModel(TextEmbedder.load(model, pooling, true));
    }

    public static DistillEmbeddingModel load(String model, Pooling pooling, InferenceOptions options) {
        return new DistillEmbeddingModel(TextEmbedder.load(model, pooling, true, options));
    }

    @Override
    public Response<List<Embedding>> embedAll(List<TextSegment> segments) {
        List<String> texts = segments.stream().map(TextSegment::text).toList();
        List<org.distill4j.serve.Embedding> out = embedder.embedAll(texts, null);
        List<Embedding> vectors = new ArrayList<>(out.size());
        int tokens = 0;
        for (org.distill4j.serve.Embedding e : out) {
            vectors.add(Embedding.from(e.vector()));
            tokens += e.tokens();
        }
        return Response.from(vectors, new TokenUsage(tokens));
    }

    @Override
    public int dimension() {
        return embedder.dimension();
    }

    @Override
    public String modelName() {
        return embedder.modelName();
    }

    @Override
    public void close() {
        embedder.close();
    }
}
