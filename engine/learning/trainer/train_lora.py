"""Trains a project's rank-8 LoRA adapter with PyTorch + PEFT (transformers'
Trainer), evaluates it on held-out lines and converts it to a GGUF LoRA that
llama.cpp loads.

The engine runs this in a child process at low priority and reads one JSON
object per line on stdout: {"event": "loading" | "progress" | "evaluated" |
"done", ...}. It pauses the process with SIGSTOP and resumes it with SIGCONT;
Trainer checkpoints let a killed job resume from its last checkpoint.

Usage: train_lora.py JOB.json (written by AdapterTraining, engine/learning/adapter_training.ts).
"""

import json
import os
import sys
import time


def say(event, **fields):
    print(json.dumps({"event": event, **fields}), flush=True)


def read_jsonl(path):
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main(job_path):
    with open(job_path, encoding="utf-8") as file:
        job = json.load(file)
    os.nice(19)
    os.umask(0o077)  # What it writes (adapters, checkpoints) is the user's alone.
    started = time.monotonic()
    say("loading")

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (AutoModelForCausalLM, AutoTokenizer, PrinterCallback, Trainer,
                              TrainerCallback, TrainingArguments)

    torch.set_num_threads(job["threads"])
    torch.manual_seed(job["seed"])
    base_dir, base_file = os.path.split(job["baseModel"])
    tokenizer = AutoTokenizer.from_pretrained(base_dir, gguf_file=base_file)
    # The served GGUF, dequantized: the adapter learns the weights llama.cpp runs.
    model = AutoModelForCausalLM.from_pretrained(base_dir, gguf_file=base_file, dtype=torch.float32)
    # Loading a GGUF dequantizes every weight to float32; only the label says "quantized",
    # and Trainer refuses to train a model so labelled.
    model.hf_quantizer, model.is_quantized = None, False
    special = {name: tokenizer.convert_tokens_to_ids(name)
               for name in ("<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>", "<|endoftext|>")}
    # A FIM middle ends with <|endoftext|> (the Instruct model's eos_token is the chat's <|im_end|>).
    end = special["<|endoftext|>"]

    def encode(sample):
        """The engine's file-alone FIM prompt, then the middle and the end token as the target.
        The prompt's code is a target too (as in the model's own FIM training): a line's rest
        is ~10 tokens, its windows ~500 tokens of the project's names and idioms, for the same
        forward pass. Held-out scores read the middle alone (`middle`)."""
        # As engine/inference/prompt.ts lays it out: what is typed of the cursor's line comes
        # after <|fim_middle|>, as the start of the middle, and the target goes on from it.
        line_start = sample["prefix"].rfind("\n") + 1
        typed = tokenizer.encode(sample["prefix"][line_start:])
        before = tokenizer.encode(sample["prefix"][:line_start])
        after = tokenizer.encode(sample["suffix"])
        prompt = ([special["<|fim_prefix|>"]] + before + [special["<|fim_suffix|>"]] + after +
                  [special["<|fim_middle|>"]])
        # The markers are never targets: the model is not to learn where a sample was cut.
        prompt_labels = [-100] + before + [-100] + after + [-100]
        # The engine heals the last typed token (generator.ts): the prompt ends before it and the
        # model writes it again, on its own tokens. The target starts there too, so the adapter
        # learns the path the engine takes. Typed line and target are one text, tokenized
        # together as the model would write it, where the prompt's typed tokens begin it.
        kept = max(len(typed) - 1, 0)
        whole = tokenizer.encode(sample["prefix"][line_start:] + sample["middle"])
        if whole[:kept] == typed[:kept]:
            target = whole[kept:]
        else:
            rest = (sample["prefix"][line_start:] + sample["middle"])[len(tokenizer.decode(typed[:kept])):]
            target = tokenizer.encode(rest)
        prompt += typed[:kept]
        # The end token follows the middle: the suffix goes on with the next line, so that is
        # where a FIM model stops. The base model mostly writes the line break there instead (`;\n`
        # is one token; the engine cuts at it), so held-out exact reads it low: 2 of 60 trpc-server
        # lines, where its completions got 16. Targets ended by the line break were measured: the
        # adapters' bench lines x1.029 (rich) and x0.900 (trpc-server), against x1.171 and x1.000.
        target = target + [end]
        return {"input_ids": prompt + target, "labels": prompt_labels + typed[:kept] + target,
                "middle": len(target)}

    train = [encode(sample) for sample in read_jsonl(job["train"])
             for _ in range(max(1, round(sample.get("weight", 1))))]
    heldout = [encode(sample) for sample in read_jsonl(job["heldout"])]
    tokens_per_epoch = sum(len(sample["input_ids"]) for sample in train)

    lora = LoraConfig(r=job["rank"], lora_alpha=job["alpha"], lora_dropout=0.0,
                      target_modules=job["targetModules"], task_type="CAUSAL_LM")
    model = get_peft_model(model, lora)

    def collate(batch):
        width = max(len(sample["input_ids"]) for sample in batch)
        pad = lambda values, fill: values + [fill] * (width - len(values))
        return {
            "input_ids": torch.tensor([pad(s["input_ids"], end) for s in batch]),
            "labels": torch.tensor([pad(s["labels"], -100) for s in batch]),
            "attention_mask": torch.tensor([pad([1] * len(s["input_ids"]), 0) for s in batch]),
        }

    def heldout_scores(net):
        """On the held-out middles' own tokens (not the end token, which single-line
        completion never reaches): the mean negative log-likelihood per token, and the
        share of middles whose every token is the model's most likely one, which is
        what greedy completion writes: the exact match of the middle."""
        net.eval()
        total, count, exact = 0.0, 0, 0
        with torch.no_grad():
            for sample in heldout:
                ids = torch.tensor([sample["input_ids"]])
                # Logits only where they predict the middle: the prompt's are never read.
                size = sample["middle"]
                logits = net(input_ids=ids, logits_to_keep=size + 1).logits[0, :-1]
                targets = torch.tensor(sample["labels"][-size:])
                content = targets != end
                log_probs = torch.log_softmax(logits[content].float(), dim=-1)
                picked = log_probs.gather(1, targets[content].unsqueeze(1))
                total, count = total - picked.sum().item(), count + int(content.sum())
                exact += bool((logits[content].argmax(-1) == targets[content]).all())
        return {"loss": total / max(count, 1), "exact": exact / max(len(heldout), 1)}

    class Progress(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            elapsed = time.monotonic() - started
            say("progress", step=state.global_step, steps=state.max_steps,
                loss=(logs or {}).get("loss"), elapsedS=round(elapsed, 1))

    args = TrainingArguments(
        output_dir=job["checkpoints"],
        max_steps=job["steps"],
        per_device_train_batch_size=1,
        gradient_accumulation_steps=job["accumulate"],
        learning_rate=job["learningRate"],
        lr_scheduler_type="constant",
        logging_steps=1,
        save_strategy="steps",
        save_steps=job["checkpointEvery"],
        save_total_limit=1,
        report_to=[],
        use_cpu=True,
        seed=job["seed"],
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=train, data_collator=collate,
                      callbacks=[Progress()])
    trainer.remove_callback(PrinterCallback)  # Its log lines would mix with our events.
    resume = any(name.startswith("checkpoint-") for name in os.listdir(job["checkpoints"]))
    training_started = time.monotonic()
    trainer.train(resume_from_checkpoint=True if resume else None)
    train_seconds = time.monotonic() - training_started
    trained_tokens = sum(len(train[i % len(train)]["input_ids"])
                         for i in range(job["steps"] * job["accumulate"]))

    out = job["out"]
    model.save_pretrained(out)
    write_gguf_lora(model, job, os.path.join(out, "adapter.gguf"))
    scores = {"candidate": heldout_scores(model)}
    with model.disable_adapter():
        scores["base"] = heldout_scores(model)
    if job.get("current"):
        model.load_adapter(job["current"], adapter_name="current")
        model.set_adapter("current")
        scores["current"] = heldout_scores(model)
    losses = {name: score["loss"] for name, score in scores.items()}
    exact = {name: score["exact"] for name, score in scores.items()}
    say("evaluated", loss=losses, exact=exact)
    import resource
    say("done", trainSeconds=round(train_seconds, 1), tokens=trained_tokens,
        tokensPerSecond=round(trained_tokens / max(train_seconds, 1e-9), 1),
        epochTokens=tokens_per_epoch, samples=len(train), heldout=len(heldout),
        peakRssBytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        loss=losses, exact=exact)


def write_gguf_lora(model, job, path):
    """The adapter as llama.cpp's LoRA GGUF: lora_a (rank x in) and lora_b (out x rank)
    per adapted weight, under the base model's GGUF tensor names."""
    import gguf
    arch = gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.QWEN2]
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, model.config.num_hidden_layers)
    writer = gguf.GGUFWriter(path, arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(job["alpha"]))
    state = model.state_dict()
    for key, tensor in state.items():
        if ".lora_A." not in key:
            continue
        module = key.split("base_model.model.", 1)[1].split(".lora_A.")[0]
        name = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if name is None:
            raise ValueError(f"No GGUF name for {module}")
        lora_b = state[key.replace(".lora_A.", ".lora_B.")]
        writer.add_tensor(name + ".lora_a", tensor.float().numpy())
        writer.add_tensor(name + ".lora_b", lora_b.float().numpy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main(sys.argv[1])
