import Myelin
