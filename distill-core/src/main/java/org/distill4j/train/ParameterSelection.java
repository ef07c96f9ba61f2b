package org.distill4j.train;

import ai.djl.nn.Parameter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.distill4j.DistillException;

/**
 * Which parameters a stage trains, by name pattern over HuggingFace names (and the names loss
 * terms give their own parameters). A pattern is a glob: {@code *} matches any characters, dots
 * included, so {@code encoder.layer.*.attention.*} selects every attention parameter and a module
 * path followed by {@code .*} selects that module. The rest is frozen: it takes no gradient and
 * has no optimizer state.
 *
 * @param include patterns of what trains; empty means everything
 * @param exclude patterns of what is frozen even if included
 * @param frozen names frozen whatever the patterns say: the backbone under LoRA adapters
 */
public record ParameterSelection(List<String> include, List<String> exclude, Set<String> frozen) {

    /** Every parameter trains. */
    public static final ParameterSelection ALL = new ParameterSelection(List.of(), List.of(), Set.of());

    public ParameterSelection {
        include = List.copyOf(include);
        exclude = List.copyOf(exclude);
        frozen = Collections.unmodifiableSet(new LinkedHashSet<>(frozen));
    }

    /** Only parameters matching one of {@code patterns} train. */
    public static ParameterSelection only(String... patterns) {
        return new ParameterSelection(List.of(patterns), List.of(), Set.of());
    }

    /** Everything but parameters matching one of {@code patterns} trains. */
    public static ParameterSelection except(String... patterns) {
        return new ParameterSelection(List.of(), List.of(patterns), Set.of());
    }

    /** This selection with the parameters {@code names} frozen too. */
    public ParameterSelection freezing(Set<String> names) {
        Set<String> all = new LinkedHashSet<>(frozen);
        all.addAll(names);
        return new ParameterSelection(include, exclude, all);
    }

    /**
     * The selected parameters, in the order of {@code all}. Every pattern must match something:
     * a pattern that matches nothing is almost always a typo, and silently training the wrong set
     * would cost a whole run.
     */
    public Map<String, Parameter> select(Map<String, Parameter> all) {
        List<String> unmatched = new ArrayList<>();
        for (String p : include) {
            if (all.keySet().stream().noneMatch(regex(p).asMatchPredicate())) {
                unmatched.add(p);
            }
        }
        for (String p : exclude) {
            if (all.keySet().stream().noneMatch(regex(p).asMatchPredicate())) {
                unmatched.add(p);
            }
        }
        if (!unmatched.isEmpty()) {
            throw new DistillException("trainable-parameter pattern(s) " + unmatched + " match no parameter; names "
                    + "look like " + all.keySet().stream().limit(4).toList() + " (" + all.size() + " in all)");
        }
        Map<String, Parameter> out = new LinkedHashMap<>();
        all.forEach((name, p) -> {
            if (trains(name)) {
                out.put(name, p);
            }
        });
        if (out.isEmpty()) {
            throw new DistillException("trainable-parameter selection " + this + " leaves nothing to train");
        }
        return out;
    }

    /** Whether the parameter named {@code name} trains. */
    public boolean trains(String name) {
        if (frozen.contains(name)) {
            return false;
        }
        boolean in = include.isEmpty() || include.stream().anyMatch(p -> regex(p).matcher(name).matches());
        return in && exclude.stream().noneMatch(p -> regex(p).matcher(name).matches());
    }

    private static Pattern regex(String glob) {
        return Pattern.compile(Arrays.stream(glob.split("\\*", -1)).map(Pattern::quote)
                .collect(Collectors.joining(".*")));
    }

    @Override
    public String toString() {
        String patterns = include.isEmpty() && exclude.isEmpty() ? "all"
                : (include.isEmpty() ? "all" : "only " + include) + (exclude.isEmpty() ? "" : " except " + exclude);
        return frozen.isEmpty() ? patterns : patterns + ", " + frozen.size() + " named parameters frozen";
    }
}
