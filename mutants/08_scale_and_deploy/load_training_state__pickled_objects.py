# Mutant: pickles the model and optimiser objects themselves and loads with weights_only=False.
def save_training_state(path, model, optimizer, scheduler, epoch):
    torch.save({"model": model, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "epoch": epoch, "rng": torch.get_rng_state()}, path)


def load_training_state(path, model, optimizer, scheduler):
    state = torch.load(path, weights_only=False)
    model.load_state_dict(state["model"].state_dict())
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    return state["epoch"]
