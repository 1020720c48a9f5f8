# Mutant: stores the transform but never applies it.
class ArrayDataset(Dataset):
    def __init__(self, features, targets, transform=None):
        if len(features) != len(targets):
            raise ValueError(f"features and targets differ in length: {len(features)} != {len(targets)}")
        self.features, self.targets, self.transform = features, targets, transform

    def __len__(self):
        return len(self.features)

    def __getitem__(self, index):
        return self.features[index], self.targets[index]
