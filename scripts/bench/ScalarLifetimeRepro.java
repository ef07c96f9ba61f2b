// A minimal reproduction of the cause of distill4j's sporadic non-finite gradients, in DJL 0.35.1
// with PyTorch 2.7.1 (docs/results/reliability.md). No distill4j code: DJL alone.
//
//   ./distill --help >/dev/null                  # builds recipes/target/app
//   . scripts/native-env.sh
//   java -Dai.djl.offline=true -cp "recipes/target/app/lib/*" scripts/bench/ScalarLifetimeRepro.java [djl|owned]
//
// DJL's NDArray.div(Number) (and mul, pow, maximum, minimum, ...) wraps the number in a 0-d tensor
// that PyTorch reads in place from a Java direct buffer (from_blob), and closes that tensor as soon
// as the op returns. Autograd keeps the tensor for the backward pass, but nothing keeps the buffer:
// once the garbage collector frees it, the backward pass reads whatever the memory holds by then.
// Here the memory is freed on purpose (System.gc) and taken again by small direct buffers holding
// 1e-30, so the gradient of sum(x / 8) comes out as 1e30 instead of 0.125, every time. In a real
// training run the collector frees the buffer at a random moment and the memory holds allocator
// bookkeeping or other data: a NaN now and then, and more often a silently wrong gradient.
// "owned" makes the constant with NDManager.full (PyTorch's own memory): always 0.125.
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

public class ScalarLifetimeRepro {
    public static void main(String[] args) throws Exception {
        boolean owned = args.length > 0 && args[0].equals("owned");
        int trials = 200;
        int wrong = 0;
        try (NDManager m = NDManager.newBaseManager()) {
            for (int t = 0; t < trials; t++) {
                try (NDManager s = m.newSubManager(); GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray x = s.ones(new Shape(4));
                    x.setRequiresGradient(true);
                    NDArray y;
                    if (owned) {
                        try (NDArray k = s.full(new Shape(), 8f)) {
                            y = x.div(k);
                        }
                    } else {
                        y = x.div(8f);
                    }
                    NDArray loss = y.sum();
                    System.gc();
                    Thread.sleep(5);
                    List<ByteBuffer> taken = new ArrayList<>();
                    for (int i = 0; i < 64; i++) {
                        ByteBuffer b = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder());
                        b.putFloat(0, 1e-30f);
                        taken.add(b);
                    }
                    gc.backward(loss);
                    float g = x.getGradient().getFloat(0);
                    if (g != 0.125f) {
                        wrong++;
                        if (wrong <= 3) {
                            System.out.println("trial " + t + ": d/dx sum(x / 8) = " + g + ", not 0.125");
                        }
                    }
                    taken.clear();
                }
            }
        }
        System.out.println((owned ? "x.div(owned 0-d tensor)" : "x.div(8f)") + ": " + wrong + " wrong gradients of "
                + trials);
    }
}
