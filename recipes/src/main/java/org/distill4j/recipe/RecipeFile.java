package org.distill4j.recipe;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.distill4j.DistillException;
import org.distill4j.Sha256;
import org.distill4j.glue.GlueTask;

/**
 * Reads, checks and writes YAML recipes. Everything is checked before any work starts: unknown
 * keys, wrong types and impossible values are all reported at once, each with the file, the line
 * and the key, e.g. {@code configs/x.yaml:14: train.epochs: must be at least 1, got 0}.
 * {@code --set key=value} overrides are applied first and named as the source of their errors.
 */
public final class RecipeFile {

    static final YAMLMapper YAML = YAMLMapper.builder()
            .propertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build();

    /** A recipe that is not fit to run; the message lists every problem. */
    public static final class InvalidRecipe extends DistillException {
        private final List<String> problems;

        InvalidRecipe(Path file, List<String> problems) {
            super(file + " is not a valid recipe:\n  " + String.join("\n  ", problems));
            this.problems = List.copyOf(problems);
        }

        public List<String> problems() {
            return problems;
        }
    }

    /** Collects problems with where they are. */
    static final class Problems {
        private final Path file;
        private final Map<String, Integer> lines;
        private final Map<String, String> overrides;
        private final List<String> list = new ArrayList<>();

        Problems(Path file, Map<String, Integer> lines, Map<String, String> overrides) {
            this.file = file;
            this.lines = lines;
            this.overrides = overrides;
        }

        void add(String key, String message) {
            String where;
            if (overrides.containsKey(key)) {
                where = "--set " + key + "=" + overrides.get(key);
            } else {
                Integer line = null;
                for (String k = key; line == null && !k.isEmpty(); k = parent(k)) {
                    line = lines.get(k);
                }
                where = file + (line == null ? "" : ":" + line);
            }
            list.add(where + ": " + (key.isEmpty() ? "" : key + ": ") + message);
        }

        private static String parent(String key) {
            int i = Math.max(key.lastIndexOf('.'), key.lastIndexOf('['));
            return i < 0 ? "" : key.substring(0, i);
        }

        boolean isEmpty() {
            return list.isEmpty();
        }
    }

    private RecipeFile() {}

    /** Reads a recipe, applies {@code key=value} overrides, fills defaults and checks it all. */
    public static Recipe.Resolved read(Path file, List<String> overrides) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new DistillException("Cannot read recipe " + file + ": " + e.getMessage(), e);
        }
        Map<String, Integer> lines = new HashMap<>();
        JsonNode tree;
        try {
            tree = YAML.readTree(text);
            indexLines(text, lines);
        } catch (JsonProcessingException e) {
            int line = e.getLocation() == null ? 0 : e.getLocation().getLineNr();
            throw new InvalidRecipe(file, List.of(file + ":" + line + ": not valid YAML: " + e.getOriginalMessage()));
        }
        if (!(tree instanceof ObjectNode root)) {
            throw new InvalidRecipe(file, List.of(file + ": a recipe is a YAML mapping of keys (name, method, task, "
                    + "...), not " + (tree == null ? "an empty file" : tree.getNodeType())));
        }
        Map<String, String> set = new LinkedHashMap<>();
        for (String o : overrides) {
            applyOverride(root, o, set);
        }
        Problems problems = new Problems(file, lines, set);
        RecipeConfig raw = null;
        // Binding stops at the first wrong type or unknown key: note it, drop that value and bind
        // again, so that one mistake does not hide the others (or the checks that follow).
        for (int attempt = 0; raw == null; attempt++) {
            try {
                raw = YAML.treeToValue(root, RecipeConfig.class);
            } catch (JsonMappingException e) {
                problems.add(path(e), bindingMessage(e));
                if (attempt == 100 || !remove(root, e.getPath())) {
                    throw new InvalidRecipe(file, problems.list);
                }
            } catch (JsonProcessingException e) {
                throw new InvalidRecipe(file, List.of(file + ": " + e.getOriginalMessage()));
            }
        }
        Recipe.Resolved resolved = Recipe.resolve(raw, problems);
        if (!problems.isEmpty()) {
            throw new InvalidRecipe(file, problems.list);
        }
        return resolved;
    }

    /** The resolved config as YAML: what {@code runs/<name>/recipe.yaml} holds, and what its hash covers. */
    public static String write(RecipeConfig config) {
        try {
            return YAML.writeValueAsString(config);
        } catch (JsonProcessingException e) {
            throw new DistillException("Cannot write recipe: " + e.getMessage(), e);
        }
    }

    /** SHA-256 of the resolved config: two runs with the same hash ran the same recipe. */
    public static String hash(RecipeConfig config) {
        // Not the device (a run checkpointed on one machine may be resumed on another), nor the teacher
        // cache (it changes how fast, not what is learned: a resume may turn it off to save memory).
        RecipeConfig.Train t = config.train();
        RecipeConfig.Train train = t == null ? null : new RecipeConfig.Train(t.epochs(), t.batchSize(), t.lr(),
                t.weightDecay(), t.warmup(), t.maxGradNorm(), t.accumulation(), t.evalEvery(), t.checkpointEvery(),
                null, t.precision());
        RecipeConfig c = new RecipeConfig(config.name(), config.method(), config.task(), config.seed(), null,
                config.data(), config.teacher(), config.student(), config.lora(), config.prune(), config.qat(), config.distill(),
                train,
                config.stages(),
                config.output());
        return Sha256.of(write(c));
    }

    private static void applyOverride(ObjectNode root, String override, Map<String, String> set) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw new DistillException("--set needs key=value (e.g. train.epochs=2), got '" + override + "'");
        }
        String key = override.substring(0, eq).trim();
        String value = override.substring(eq + 1);
        JsonNode parsed;
        try {
            parsed = value.isEmpty() ? JsonNodeFactory.instance.nullNode() : YAML.readTree(value);
        } catch (JsonProcessingException e) {
            throw new DistillException("--set " + override + ": the value is not valid YAML: " + e.getOriginalMessage());
        }
        String[] parts = key.split("\\.");
        ObjectNode node = root;
        for (int i = 0; i < parts.length - 1; i++) {
            JsonNode child = node.get(parts[i]);
            if (child == null || child.isNull()) {
                child = node.putObject(parts[i]);
            } else if (!(child instanceof ObjectNode)) {
                throw new DistillException("--set " + override + ": '" + parts[i] + "' is not a section");
            }
            node = (ObjectNode) child;
        }
        node.set(parts[parts.length - 1], parsed);
        set.put(key, value);
    }

    /** Maps each key path (a.b, a.b[2]) to the line it is written on. */
    private static void indexLines(String text, Map<String, Integer> lines) throws JsonProcessingException {
        try (JsonParser p = YAML.getFactory().createParser(text)) {
            for (JsonToken t = p.nextToken(); t != null; t = p.nextToken()) {
                if (t == JsonToken.FIELD_NAME || (t.isScalarValue() && p.getParsingContext().inArray())) {
                    lines.putIfAbsent(dotted(p.getParsingContext().pathAsPointer()), p.currentTokenLocation()
                            .getLineNr());
                }
            }
        } catch (JsonProcessingException e) {
            throw e;
        } catch (IOException e) {
            throw new DistillException("Cannot parse recipe: " + e.getMessage(), e);
        }
    }

    private static String dotted(JsonPointer pointer) {
        StringBuilder b = new StringBuilder();
        for (JsonPointer p = pointer; p != null && !p.matches(); p = p.tail()) {
            if (p.mayMatchElement()) {
                b.append('[').append(p.getMatchingIndex()).append(']');
            } else {
                b.append(b.length() == 0 ? "" : ".").append(p.getMatchingProperty());
            }
        }
        return b.toString();
    }

    /** Removes the value at a binding error's path; false when there is nothing there to remove. */
    private static boolean remove(JsonNode root, List<JsonMappingException.Reference> path) {
        JsonNode node = root;
        for (int i = 0; i < path.size(); i++) {
            JsonMappingException.Reference r = path.get(i);
            boolean last = i == path.size() - 1;
            if (r.getFieldName() != null && node instanceof ObjectNode o && o.has(r.getFieldName())) {
                if (last) {
                    o.remove(r.getFieldName());
                    return true;
                }
                node = o.get(r.getFieldName());
            } else if (r.getIndex() >= 0 && node instanceof com.fasterxml.jackson.databind.node.ArrayNode a
                    && r.getIndex() < a.size()) {
                if (last) {
                    a.remove(r.getIndex());
                    return true;
                }
                node = a.get(r.getIndex());
            } else {
                return false;
            }
        }
        return false;
    }

    private static String path(JsonMappingException e) {
        StringBuilder b = new StringBuilder();
        for (JsonMappingException.Reference r : e.getPath()) {
            if (r.getFieldName() != null) {
                b.append(b.length() == 0 ? "" : ".").append(r.getFieldName());
            } else if (r.getIndex() >= 0) {
                b.append('[').append(r.getIndex()).append(']');
            }
        }
        return b.toString();
    }

    private static String bindingMessage(JsonMappingException e) {
        if (e instanceof com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException u) {
            return "unknown key '" + u.getPropertyName() + "'; known here: " + u.getKnownPropertyIds();
        }
        if (e instanceof com.fasterxml.jackson.databind.exc.MismatchedInputException m && m.getTargetType() != null) {
            // Jackson's text ends with advice about its own coercion settings, which a recipe author cannot use.
            String why = firstLine(e.getOriginalMessage()).replaceAll(" \\(but might if coercion.*$", "");
            return "expected " + typeName(m.getTargetType()) + " (" + why + ")";
        }
        return firstLine(e.getOriginalMessage());
    }

    private static String typeName(Class<?> c) {
        if (c == Integer.class || c == Long.class || c == int.class || c == long.class) {
            return "a whole number";
        }
        if (c == Double.class || c == double.class) {
            return "a number";
        }
        if (c == Boolean.class) {
            return "true or false";
        }
        if (c == String.class) {
            return "a string";
        }
        if (List.class.isAssignableFrom(c)) {
            return "a list";
        }
        return "a section of keys";
    }

    private static String firstLine(String s) {
        int i = s.indexOf('\n');
        return i < 0 ? s : s.substring(0, i);
    }

    /** The GLUE task a recipe names, or a problem. */
    static GlueTask task(String name, Problems p) {
        try {
            return GlueTask.parse(name);
        } catch (RuntimeException e) {
            p.add("task", e.getMessage());
            return null;
        }
    }
}
