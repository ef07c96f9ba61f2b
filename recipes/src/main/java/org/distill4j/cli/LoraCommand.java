package org.distill4j.cli;

import java.nio.file.Path;
import org.distill4j.weights.Checkpoint;
import org.distill4j.weights.HfModelDirectory;
import org.distill4j.weights.PeftAdapter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** LoRA adapter directories (PEFT's layout). */
@Command(name = "lora", description = "LoRA adapters: fold an adapter into its base model.",
        subcommands = {LoraCommand.Merge.class})
final class LoraCommand implements Runnable {

    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }

    @Command(name = "merge", description = "Fold a LoRA adapter (written here or by PEFT) into its base model and "
            + "write a plain model directory.")
    static final class Merge implements Runnable {

        @Option(names = "--model", paramLabel = "MODEL", description = "the base model (default: the adapter's "
                + "base_model_name_or_path)")
        String model;

        @Option(names = "--adapter", required = true, paramLabel = "DIR",
                description = "adapter directory (adapter_config.json, adapter_model.safetensors)")
        Path adapter;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "output model directory")
        Path out;

        @Override
        public void run() {
            PeftAdapter a = PeftAdapter.read(adapter);
            String base = model != null ? model : Checkpoint.adapterBase(adapter, a);
            Checkpoint merged = a.mergeInto(Checkpoint.load(base));
            HfModelDirectory.write(merged, out, ConvertCommand.taskHead(adapter));
            ConvertCommand.copyInfo(adapter, out);
            System.out.printf("merged %d adapters (r=%d, alpha=%s) into %s; wrote %s%n", a.modules().size(),
                    a.config().rank(), a.config().alpha(), base, out);
        }
    }
}
